"""`sandbox sweep --backend ray` on a real two-node Ray cluster of this machine (ray.cluster_utils:
two raylets, one head), everything on loopback, Ray's files under the test's tmp folder.

- the Ray sweep equals the local sweep of the same plan row for row (scores, reasons, pass^k);
- a node lost mid-sweep loses only its running episode: it is run again on the other sandbox and
  its row says so, while the rows that node finished before it died are kept.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from sandbox.errors import ConfigError
from sandbox.home import Home
from sandbox.report import render_report
from sandbox.run.supervisor import Sandbox
from sandbox.sweep import build_plan, run_sweep
from sandbox.sweep.ray_backend import require_ray, run_sweep_ray
from sandbox.sweep.results import PARTIAL
from tests.ray_support import short_temp_dir

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
GHOST = str(Path(__file__).parent / "profiles" / "ghost-refund.yaml")
AGENTS = {"careful": [PY, "examples/careful_refund_agent.py"], "careless": [PY, "examples/careless_refund_agent.py"]}
NODE = {"num_cpus": 1, "object_store_memory": 78 * 1024 * 1024}  # Ray's smallest object store: rows, not tensors
UNTIMED = ("episode", "seconds")  # what differs between any two runs of one plan, local or not


@pytest.fixture(scope="module")
def cluster():
    """A head node and one more, each with one CPU: a sandbox each. Shut down after the module."""
    with short_temp_dir() as temp, pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_TMPDIR", str(temp))  # ray_current_cluster and the session folders, here
        # Ray swaps 127.0.0.1 for the machine's address unless told it is a one-machine cluster:
        # so nothing of Ray listens beyond loopback.
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        env.setenv("SANDBOX_SERVICES", "payments")  # the task needs one fake: one per sandbox, not four
        nodes = Cluster(initialize_head=True,
                        head_node_args={**NODE, "include_dashboard": False, "temp_dir": str(temp / "ray")})
        worker = nodes.add_node(**NODE)
        try:
            ray.init(address=nodes.address, log_to_driver=False)
            yield nodes, worker
        finally:
            ray.shutdown()
            nodes.shutdown()


def comparable(doc):
    rows = [{k: v for k, v in row.items() if k not in UNTIMED} for row in doc["rows"]]
    timelines = [[(e["method"], e["path"], e["status"], e["faults"])
                  for e in doc["episodes"][row["episode"]]["exchanges"]] for row in doc["rows"]]
    return rows, timelines


@pytest.mark.slow
def test_a_ray_sweep_equals_the_local_sweep_row_for_row(cluster, tmp_path):
    nodes, _ = cluster
    plan = build_plan(AGENTS, ["refund-duplicate-charge"], ["none", GHOST], seeds=1, trials=2)
    local_home = Home.resolve(tmp_path / "local")
    with Sandbox(local_home, ephemeral=True, workers=1) as sandbox:
        local = run_sweep(plan, home=local_home, ports=sandbox.ports, parallel=2)
    out = tmp_path / "out"
    agents = [f"--agent={name}={' '.join(argv)}" for name, argv in AGENTS.items()]
    proc = subprocess.run([PY, "-m", "sandbox.cli", "--home", str(tmp_path / "ray-home"), "sweep", "--backend", "ray",
                           "--address", nodes.address, "--tasks", "refund-duplicate-charge",
                           "--faults", f"none,{GHOST}", "--trials", "2", "--parallel", "2", "--out", str(out), *agents],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    remote = json.loads((out / "results.json").read_text())

    assert comparable(remote) == comparable(local)
    assert [r["success"] for r in remote["rows"]] == [True] * 4 + [False] * 4  # careful passes, careless harms
    for part in ("summary", "noise", "deltas", "cost"):  # pass^k, the noise floor, the paired deltas
        assert remote[part] == local[part], part
    backend = remote["backend"]
    assert backend["lost"] == [] and all(r["reruns"] == 0 for r in remote["rows"])
    placed = {s["sandbox"]: s["node"] for s in backend["sandboxes"]}
    assert len(set(placed.values())) == 2  # a sandbox per node
    assert {r["episode"].split("-")[0] for r in remote["rows"]} == set(placed)  # both ran episodes
    assert "ray: sandbox s0 on node" in proc.stderr and "ray: sandbox s1 on node" in proc.stderr
    report = (out / "report.html").read_text()
    assert "Ran on Ray" in report and "No episode was lost." in report


@pytest.mark.slow
def test_a_node_lost_mid_sweep_loses_only_its_running_episode(cluster, tmp_path):
    nodes, worker = cluster
    # Slow enough that the worker node is always running an episode when it is taken away.
    slow = ["sh", "-c", f"sleep 1 && exec {PY} examples/careful_refund_agent.py"]
    plan = build_plan({"careful": slow}, ["refund-duplicate-charge"], ["none"], seeds=1, trials=4)
    placed: dict[str, dict] = {}
    killed: list[str] = []

    def kill_the_worker_node(row):
        # The first row the worker node's sandbox finishes: its next cell is running there by now.
        on_worker = [name for name, info in placed.items() if info["node"] == worker.node_id]
        if not killed and row["episode"].split("-")[0] in on_worker:
            killed.append(row["episode"])
            nodes.remove_node(worker)

    partial = tmp_path / PARTIAL
    doc = run_sweep_ray(plan, home=Home.resolve(tmp_path / "home"), parallel=1, partial=partial,
                        on_placed=lambda infos: placed.update((i["sandbox"], i) for i in infos),
                        on_done=kill_the_worker_node)

    assert killed, "the worker node's sandbox finished no episode"
    rows = doc["rows"]
    assert len(rows) == 4 and all(r["success"] for r in rows), [r["reasons"] for r in rows]
    lost = doc["backend"]["lost"]
    lost_sandbox = next(name for name, info in placed.items() if info["node"] == worker.node_id)
    assert len(lost) == 1 and lost[0]["sandbox"] == lost_sandbox and lost[0]["node"] == worker.node_id
    rerun = [r for r in rows if r["reruns"]]
    assert [(r["trial"], r["reruns"]) for r in rerun] == [(lost[0]["trial"], 1)]
    assert not rerun[0]["episode"].startswith(lost_sandbox + "-")  # run again elsewhere
    survived = next(r for r in rows if r["episode"] == killed[0])  # finished on the lost node before it died
    assert survived["reruns"] == 0 and survived["success"]
    assert len(partial.read_text().splitlines()) == 4
    report = render_report(doc)
    assert "rerun ×1" in report and f"lost with {lost_sandbox}" in report
    # The lost sandbox's proxy died with its node: nothing of it is left listening.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", placed[lost_sandbox]["ports"]["proxy"])) != 0


@pytest.mark.slow
def test_a_sandbox_that_cannot_start_names_its_node_and_home(cluster, tmp_path):
    home = Home.resolve(tmp_path / "home")
    (home.root / "ray").write_text("a file where the sandboxes' homes go")
    plan = build_plan(AGENTS, ["refund-duplicate-charge"], ["none"], seeds=1, trials=1)
    with pytest.raises(ConfigError) as caught:
        run_sweep_ray(plan, home=home)
    assert "sandbox s0 could not start on Ray node" in caught.value.message
    assert "FileExistsError" in caught.value.message or "NotADirectoryError" in caught.value.message
    assert f"{home.root}/ray/s0" in caught.value.hint


def test_without_ray_installed_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as it does where it is missing
    with pytest.raises(ConfigError) as caught:
        require_ray()
    assert "Ray, which is not installed" in caught.value.message
    assert "pip install 'agent-sandbox[ray]'" in caught.value.hint
    proc = subprocess.run(
        [PY, "-c", "import sys; sys.modules['ray'] = None; from sandbox.cli import main; main()", "--home",
         str(tmp_path), "sweep", "--backend", "ray", "--tasks", "refund-duplicate-charge", "--", PY, "-V"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "pip install 'agent-sandbox[ray]'" in proc.stderr, proc.stderr


def test_address_without_the_ray_backend_is_refused(tmp_path):
    proc = subprocess.run([PY, "-m", "sandbox.cli", "--home", str(tmp_path), "sweep", "--address", "auto", "--tasks",
                           "refund-duplicate-charge", "--", PY, "-V"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 2 and "--address auto is for --backend ray" in proc.stderr, proc.stderr
