"""The pytest plugin, run by pytest itself (pytester): record a test's traffic with
--sandbox-record, replay it in the next run, and fail with the closest request on a miss."""

from __future__ import annotations

import importlib.metadata
import os

import pytest

pytest_plugins = ["pytester"]

INNER = '''
import pytest

@pytest.mark.sandbox_replay("customers", task="refund-duplicate-charge")
def test_refund_flow(sandbox_episode):
    s = sandbox_episode.session()
    key = sandbox_episode.env["STRIPE_API_KEY"]
    answer = s.get("https://api.stripe.com/v1/customers?limit=2", headers={"Authorization": "Bearer " + key})
    assert answer.status_code == 200
    sandbox_episode.assert_no_misses()
    sandbox_episode.assert_exchanges([("GET", "api.stripe.com", "/v1/customers", 200)])
    sandbox_episode.assert_score(success=False)  # nothing refunded: the task fails, the same way each run

@pytest.mark.sandbox_replay("customers")
def test_other_flow(sandbox_episode):
    s = sandbox_episode.session()
    s.get("https://api.stripe.com/v1/customers?limit=3")
    sandbox_episode.assert_no_misses()
'''


def _plugin_args() -> list[str]:
    names = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    return [] if "sandbox.interfaces.pytest_plugin" in names else ["-p", "sandbox.interfaces.pytest_plugin"]


@pytest.mark.slow
def test_record_then_replay_then_a_miss(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("SANDBOX_SERVICES", "payments")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pytester.path.parent), os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(test_inner=INNER)
    recordings = tmp_path / "recordings"
    base = [*_plugin_args(), "--sandbox-recordings", str(recordings), "-p", "no:cacheprovider",
            "-W", "ignore::DeprecationWarning"]

    recorded = pytester.runpytest_subprocess(*base, "--sandbox-record", "-k", "refund_flow")
    recorded.assert_outcomes(passed=1)
    assert (recordings / "customers.jsonl").exists()

    replayed = pytester.runpytest_subprocess(*base)
    replayed.assert_outcomes(passed=1, failed=1)
    replayed.stdout.fnmatch_lines(["*requests the recording has no answer for:*",
                                   "*GET api.stripe.com/v1/customers?limit=3: closest GET api.stripe.com/v1/customers"
                                   "?limit=2 (query limit: '3' != recorded '2')*"])


OUTSIDE = '''
import pytest

@pytest.mark.sandbox_replay("outside", task={task!r})
def test_allowed(sandbox_episode):
    assert sandbox_episode.episode.allowed_hosts == ("127.0.0.1",)
'''


@pytest.mark.slow
def test_a_recorded_episode_gets_its_tasks_allowed_hosts(pytester, monkeypatch, tmp_path):
    from pathlib import Path

    library = Path(__file__).resolve().parents[2] / "sandbox" / "tasks" / "library" / "refund-duplicate-charge.yaml"
    task = tmp_path / "needs-outside.yaml"
    task.write_text(library.read_text().replace("id: refund-duplicate-charge", "id: needs-outside")
                    + "allowed_hosts: [127.0.0.1]\n")
    monkeypatch.setenv("SANDBOX_SERVICES", "payments")
    pytester.makepyfile(test_outside=OUTSIDE.format(task=str(task)))
    result = pytester.runpytest_subprocess(*_plugin_args(), "--sandbox-recordings", str(tmp_path / "recordings"),
                                           "--sandbox-record", "-p", "no:cacheprovider",
                                           "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)
