"""sandbox.run.runner's guarantees that do not need an agent: a run's episode always has a score, and
saying so does not rest on `assert` (gone under `python -O`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import EpisodeError
from sandbox.run.runner import finish_and_score_task

ROOT = Path(__file__).resolve().parents[2]


def test_an_episode_without_a_task_is_an_error_not_a_missing_score(store):
    episode = store.create(seed=7)
    with pytest.raises(EpisodeError, match=f"episode {episode.id} has no task, so it has no score"):
        finish_and_score_task(store, episode.id)


def test_no_assert_guards_product_code_of_a_run():
    """`python -O` strips asserts: the runner and the sweep must say what is wrong by raising."""
    for module in ("sandbox/run/runner.py", "sandbox/sweep/episode.py", "sandbox/sweep/run.py"):
        source = (ROOT / module).read_text()
        assert "\n    assert " not in source and "\n        assert " not in source, module
