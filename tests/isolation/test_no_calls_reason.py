"""The score explains an episode in which no request reached the sandbox (sandbox/scoring/score.py), from
the ledger's events alone, so it stays reproducible from the ledger file."""

from __future__ import annotations

from sandbox.scoring.score import no_calls_reasons

EXIT = {"kind": "agent_exit", "detail": {"exit_code": 1, "timed_out": False}}
NO_CALLS = "no calls reached the sandbox: the agent made no request through the proxy"


def test_isolated_or_unknown_runs_only_say_no_calls_reached_the_sandbox():
    assert no_calls_reasons([], [{**EXIT, "detail": {**EXIT["detail"], "isolated": True}}]) == [NO_CALLS]
    assert no_calls_reasons([], [EXIT]) == [NO_CALLS]  # a ledger from before isolation existed


def test_without_isolation_the_reason_names_why_it_was_off():
    off = {**EXIT, "detail": {**EXIT["detail"], "isolated": False, "isolation": "user namespaces are disabled"}}
    assert no_calls_reasons([], [off]) == [
        NO_CALLS, "isolation was off (user namespaces are disabled), so a client that ignores HTTPS_PROXY may "
                  "have gone around it"]


def test_nothing_to_say_with_calls_or_without_an_agent():
    assert no_calls_reasons([{"id": 1}], [EXIT]) == []
    assert no_calls_reasons([], []) == []  # an episode driven by hand, not by `sandbox run`
