"""Snapshot and fork on every surface, against the session's real sandbox (proxy, fakes, control API)."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

import sandbox
from sandbox.cli import main
from sandbox.episodes.store import EpisodeStore
from sandbox.interfaces.api import SandboxHandle, start_episode
from sandbox.interfaces.control import ControlClient
from sandbox.interfaces.gym_env import SandboxEnv
from sandbox.world import world

FACT = world(7).facts["double_charge"]
STRIPE = "https://api.stripe.com/v1"
TASK = "refund-duplicate-charge"


def handle(running_sandbox) -> SandboxHandle:
    return SandboxHandle(running_sandbox.home, running_sandbox.ports)


def table(home, episode_id: str, name: str) -> list[tuple]:
    conn = sqlite3.connect(home.service_db(episode_id, "payments"))
    try:
        return conn.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
    finally:
        conn.close()


def careful(ep) -> None:
    """As examples/careful_refund_agent.py: the two charges of the order, refund the later one."""
    charges = ep.request("GET", f"{STRIPE}/charges", params={"customer": FACT["customer"], "limit": 100}).json()
    mine = [c for c in charges["data"] if c["metadata"].get("order_id") == FACT["order_id"]]
    duplicate = max(mine, key=lambda c: (c["created"], c["id"]))
    assert ep.request("POST", f"{STRIPE}/refunds", data={"charge": duplicate["id"]}).status_code == 200


def careless(ep) -> None:
    """Refunds the charge the customer named first: the original, not the duplicate."""
    ep.request("GET", f"{STRIPE}/charges", params={"customer": FACT["customer"]})
    ep.request("POST", f"{STRIPE}/refunds", data={"charge": FACT["original_charge"]})


def test_a_mid_task_fork_finished_by_two_agents_scores_each_and_leaves_the_parent_alone(running_sandbox):
    home = running_sandbox.home
    parent = start_episode(TASK, sandbox=handle(running_sandbox))
    try:
        found = parent.request("GET", f"{STRIPE}/customers", params={"email": FACT["customer_email"]})
        assert [c["id"] for c in found.json()["data"]] == [FACT["customer"]]
        snap = parent.snapshot("after-lookup")
        with store_ledger(home, parent.id) as ledger:
            parent_exchanges = ledger.exchanges()
        parent_refunds = table(home, parent.id, "refunds")
        with parent.fork(snap) as good, sandbox.fork(snap.ref, sandbox=handle(running_sandbox)) as bad:
            assert len({parent.id, good.id, bad.id}) == 3
            careful(good)
            careless(bad)
        assert good.result.success and good.result.score == 1.0
        assert not bad.result.success and bad.result.score < good.result.score
        # Each score covers the whole trajectory: the parent's lookup, then the fork's own calls.
        assert good.result.details["calls"] == 3
        assert parent.episode.live and EpisodeStore(home).require(parent.id).live
        with store_ledger(home, parent.id) as ledger:
            assert ledger.exchanges() == parent_exchanges  # the forks' calls are theirs alone
        assert table(home, parent.id, "refunds") == parent_refunds
    finally:
        parent.finish()
    assert parent.result.score == 0.0  # it only looked the customer up


def test_two_forks_given_the_same_calls_make_the_same_rows_and_ledgers(running_sandbox):
    home = running_sandbox.home
    with sandbox.episode(TASK, sandbox=handle(running_sandbox)) as parent:
        parent.request("GET", f"{STRIPE}/customers", params={"email": FACT["customer_email"]})
        snap = parent.snapshot()
        children = [parent.fork(snap) for _ in range(2)]
        for child in children:
            with child:
                careful(child)
                child.request("POST", f"{STRIPE}/customers", data={"email": "new@example.com"})
    a, b = children
    for name in ("refunds", "charges", "customers"):
        assert table(home, a.id, name) == table(home, b.id, name)
    views = []
    for child in children:
        with store_ledger(home, child.id) as ledger:
            views.append((
                [(e["id"], e["method"], e["path"], e["query"], e["status"], e["clock"], e["response_body"])
                 for e in ledger.exchanges()],
                [(c["service"], c["seq"], c["exchange_id"], c["tbl"], c["row_key"], c["op"], c["before"], c["after"])
                 for c in ledger.state_changes()]))
    assert views[0] == views[1]
    assert [e[0] for e in views[0][0]] == [1, 2, 3, 4]  # the clock went on from the parent's exchange 1
    assert a.result.to_dict()["score"] == b.result.to_dict()["score"]


def test_a_fork_meets_the_faults_the_parent_meets_at_the_same_later_calls(running_sandbox):
    """rate-limit throttles every 4th call. Snapshot after 2: the parent's 4th call and the fork's
    (its 2nd own call) are both throttled, the 3rd of each is not."""
    with sandbox.episode(TASK, faults="rate-limit", sandbox=handle(running_sandbox)) as parent:
        lookup = (f"{STRIPE}/customers", {"email": FACT["customer_email"]})
        assert [parent.request("GET", lookup[0], params=lookup[1]).status_code for _ in range(2)] == [200, 200]
        snap = parent.snapshot()
        assert snap.manifest["fault_state"]["counts"] == [2]
        with parent.fork(snap) as child:
            forked = [child.request("GET", lookup[0], params=lookup[1]).status_code for _ in range(3)]
        went_on = [parent.request("GET", lookup[0], params=lookup[1]).status_code for _ in range(3)]
    assert forked == went_on == [200, 429, 200]


def test_the_control_api_snapshots_and_forks_with_its_token(running_sandbox):
    home = running_sandbox.home
    client = ControlClient(home, running_sandbox.ports["control"])
    status, parent = client.post("/episodes", {"task": TASK})
    assert status == 201
    status, snap = client.post(f"/episodes/{parent['id']}/snapshots", {"name": "start"})
    assert status == 201 and snap["ref"] == f"{parent['id']}/start" and snap["position"] == 0
    status, listed = client.get(f"/episodes/{parent['id']}/snapshots")
    assert [s["name"] for s in listed] == ["start"]
    status, child = client.post(f"/episodes/{parent['id']}/fork", {"snapshot": "start", "id": "ctl-fork"})
    assert status == 201 and child["id"] == "ctl-fork" and child["task"] == TASK
    assert child["token"] != parent["token"] and "HTTPS_PROXY" in child["env"]
    assert child["forked_from"] == {"episode": parent["id"], "snapshot": "start", "position": 0}
    status, now = client.post(f"/episodes/{parent['id']}/fork")  # no snapshot named: one is taken now
    assert status == 201 and now["forked_from"]["snapshot"] == "snap1"
    status, error = client.post(f"/episodes/{parent['id']}/fork", {"snapshot": "nope"})
    assert status == 404 and "start" in error["error"]["hint"]
    status, error = client.post(f"/episodes/{parent['id']}/fork", {"snapshots": "start"})
    assert status == 400 and "snapshot" in error["error"]["hint"]
    unauthenticated = ControlClient(home, running_sandbox.ports["control"])
    unauthenticated.headers = {"Content-Type": "application/json"}
    assert unauthenticated.post(f"/episodes/{parent['id']}/fork")[0] == 401
    for episode_id in (parent["id"], "ctl-fork", now["id"]):
        client.post(f"/episodes/{episode_id}/finish")


def test_the_cli_snapshots_and_forks_and_env_works_for_the_fork(running_sandbox):
    home = str(running_sandbox.home.root)
    runner = CliRunner()
    parent = runner.invoke(main, ["--home", home, "episodes", "create", "--task", TASK])
    assert parent.exit_code == 0, parent.output
    parent_id = parent.output.strip()
    snap = runner.invoke(main, ["--home", home, "episodes", "snapshot", parent_id, "--name", "s1"])
    assert snap.exit_code == 0 and snap.output.strip() == f"{parent_id}/s1"
    child = runner.invoke(main, ["--home", home, "episodes", "fork", f"{parent_id}/s1", "--id", "cli-fork"])
    assert child.exit_code == 0 and child.output.strip() == "cli-fork"
    env = runner.invoke(main, ["--home", home, "env", "cli-fork", "--json"])
    assert env.exit_code == 0 and "cli-fork" in json.loads(env.output)["HTTPS_PROXY"]
    missing = runner.invoke(main, ["--home", home, "episodes", "fork", f"{parent_id}/s2"])
    assert missing.exit_code == 2 and "unknown snapshot" in missing.output and "s1" in missing.output
    for episode_id in (parent_id, "cli-fork"):
        runner.invoke(main, ["--home", home, "episodes", "finish", episode_id])


def test_the_gym_env_restores_a_snapshot_for_tree_search(running_sandbox):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    env = SandboxEnv(TASK, sandbox=handle(running_sandbox), reward="delta")
    try:
        env.reset()
        env.step({"method": "GET", "url": f"{STRIPE}/customers?email={FACT['customer_email']}"})
        snap = env.snapshot()
        rewards = {}
        for branch, charge in (("duplicate", FACT["duplicate_charge"]), ("original", FACT["original_charge"])):
            obs, info = env.restore(snap)
            assert info["forked_from"] == snap.ref and obs["response"] is None
            env.step({"method": "POST", "url": f"{STRIPE}/refunds", "headers": form, "body": {"charge": charge}})
            _, reward, terminated, _, info = env.step({"method": "DONE"})
            rewards[branch] = (info["score"], info["calls"])
        assert rewards["duplicate"] == (1.0, 2) and rewards["original"][0] < 1.0
        obs, info = env.reset(options={"snapshot": snap})  # the same, through reset
        assert info["forked_from"] == snap.ref
    finally:
        env.close()


def store_ledger(home, episode_id: str):
    return EpisodeStore(home).ledger(episode_id)
