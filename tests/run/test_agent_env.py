"""What `sandbox env` gives an agent: the task's instruction, and a PYTHONPATH under which the stripe
SDK trusts the sandbox CA with no change to the agent (isolated or not)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes.ledger import Ledger
from sandbox.isolation import available
from sandbox.run.agent_env import AGENT_PYTHON
from sandbox.tasks import load_task

STRIPE_AGENT = """
import os, stripe
stripe.api_key = os.environ["STRIPE_API_KEY"]
print("charges", len(stripe.Charge.list(limit=3).data))
"""


def _env_of(home, *create_args: str) -> dict[str, str]:
    made = CliRunner().invoke(main, ["--home", str(home.root), "episodes", "create", *create_args])
    assert made.exit_code == 0, made.output
    episode = made.output.split()[0]
    shown = CliRunner().invoke(main, ["--home", str(home.root), "env", "--json", episode])
    assert shown.exit_code == 0, shown.output
    import json

    return json.loads(shown.output)


@pytest.mark.slow
def test_sandbox_env_gives_the_task_and_its_instruction(running_sandbox):
    env = _env_of(running_sandbox.home, "--task", "refund-duplicate-charge")
    task = load_task("refund-duplicate-charge")
    assert env["SANDBOX_TASK_ID"] == "refund-duplicate-charge"
    assert env["SANDBOX_TASK_INSTRUCTION"] == task.instruction and "ORD-" in task.instruction
    assert not {"SANDBOX_TASK_ID", "SANDBOX_TASK_INSTRUCTION"} & set(_env_of(running_sandbox.home, "--seed", "7"))


def _python(code: str, env: dict[str, str], executable: str = sys.executable) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SSL_CERT_FILE")}
    return subprocess.run([executable, "-c", code], capture_output=True, text=True, env={**clean, **env}, timeout=60)


def test_the_agent_pythonpath_points_stripe_at_ssl_cert_file(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    show = "import stripe; print(stripe.ca_bundle_path)"
    pointed = _python(show, {"PYTHONPATH": str(AGENT_PYTHON), "SSL_CERT_FILE": str(ca)})
    assert pointed.stdout.strip() == str(ca), pointed.stderr
    unset = _python(show, {"PYTHONPATH": str(AGENT_PYTHON)})  # no SSL_CERT_FILE: stripe keeps its own
    assert unset.stdout.strip().endswith("ca-certificates.crt") and unset.stdout.strip() != str(ca)
    # Nothing is imported until the agent does: stripe stays out of a Python that never asks for it.
    lazy = _python("import sys; print('stripe' in sys.modules)", {"PYTHONPATH": str(AGENT_PYTHON),
                                                                  "SSL_CERT_FILE": str(ca)})
    assert lazy.stdout.strip() == "False", lazy.stderr


def test_a_sitecustomize_it_hides_still_runs_and_a_failing_one_is_reported(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIRS_RAN = True\n")
    path = os.pathsep.join([str(AGENT_PYTHON), str(theirs)])
    ran = _python("import builtins, stripe; print(builtins.THEIRS_RAN, stripe.ca_bundle_path)",
                  {"PYTHONPATH": path, "SSL_CERT_FILE": str(ca)})
    assert ran.stdout.split() == ["True", str(ca)], ran.stderr
    (theirs / "sitecustomize.py").write_text("raise RuntimeError('their bug')\n")
    failing = _python("import stripe; print(stripe.ca_bundle_path)", {"PYTHONPATH": path, "SSL_CERT_FILE": str(ca)})
    assert failing.stdout.strip() == str(ca)  # ours still did its part
    assert "Error in sitecustomize" in failing.stderr and "RuntimeError: their bug" in failing.stderr


def test_a_python_without_stripe_is_unaffected(tmp_path):
    base = getattr(sys, "_base_executable", sys.executable)
    if _python("import stripe", {}, base).returncode == 0:
        pytest.skip(f"stripe is installed for {base} too")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    result = _python("import json; print(json.dumps([1])); import stripe",
                     {"PYTHONPATH": str(AGENT_PYTHON), "SSL_CERT_FILE": str(ca)}, base)
    assert result.stdout.strip() == "[1]"
    assert "ModuleNotFoundError: No module named 'stripe'" in result.stderr  # as without the sandbox


@pytest.mark.slow
@pytest.mark.parametrize("isolate", [False, True], ids=["not-isolated", "isolated"])
def test_a_stripe_agent_with_no_ca_code_lists_charges_through_the_proxy(running_sandbox, isolate):
    from sandbox.run.runner import run_task

    if isolate and not available()[0]:
        pytest.skip(f"isolation unavailable here: {available()[1]}")
    task = load_task("refund-duplicate-charge")
    command = [sys.executable, "-c", STRIPE_AGENT]
    result = run_task(task, command, home=running_sandbox.home, ports=running_sandbox.ports, timeout=60,
                      isolate=isolate, log=running_sandbox.home.run_dir / f"stripe-agent-{isolate}.log")
    log = result.log.read_text() if result.log else ""
    assert result.exit_code == 0, log
    assert "charges 3" in log
    with Ledger(running_sandbox.home.ledger_path(result.episode.id)) as ledger:
        seen = [(e["via"], e["host"], e["path"], e["status"]) for e in ledger.exchanges()]
        isolated = [e["detail"]["isolated"] for e in ledger.events() if e["kind"] == "agent_exit"]
    assert seen == [("proxy", "api.stripe.com", "/v1/charges", 200)]
    assert isolated == [isolate]

    # The same agent without the sandbox's PYTHONPATH: stripe's own CA bundle refuses the proxy.
    bare = run_task(task, command, home=running_sandbox.home, ports=running_sandbox.ports, timeout=60,
                    isolate=isolate, extra_env={"PYTHONPATH": ""},
                    log=running_sandbox.home.run_dir / f"stripe-bare-{isolate}.log")
    assert bare.exit_code != 0
    assert "certificate verify failed" in bare.log.read_text().lower() or "ssl" in bare.log.read_text().lower()
