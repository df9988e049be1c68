"""`python -m sandbox.tasks.oracles.browser` finds the browser oracle the episode's task names, and
says what is wrong, naming the task and the fix, when it cannot."""

from __future__ import annotations

import pytest

from sandbox.tasks.oracles.browser.dispatch import browser_oracle_of, run_browser_oracle


def test_a_library_task_names_its_browser_oracle():
    assert browser_oracle_of("double-charge-ticket") == "sandbox.tasks.oracles.browser.double_charge_ticket"


def test_outside_an_episode_it_says_so(monkeypatch, capsys):
    monkeypatch.delenv("SANDBOX_TASK_ID", raising=False)
    with pytest.raises(SystemExit):
        run_browser_oracle()
    assert "SANDBOX_TASK_ID is not set" in capsys.readouterr().err


def test_an_unknown_task_is_named(capsys):
    with pytest.raises(SystemExit):
        browser_oracle_of("no-such-task")
    assert "task 'no-such-task'" in capsys.readouterr().err
