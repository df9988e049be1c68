"""Every library task solved through the vendors' web pages: the browser oracle (Debian's Chromium
through the real proxy, `python -m sandbox.tasks.oracles.browser`) scores 1.0 and makes the same row
changes as the task's REST oracle; under each UI nuisance profile it adapts and passes, while its
naive variant (no `adapt.settle`) fails for the reason the profile names."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.home import Home
from sandbox.sweep.episode import EpisodeRun, project_pythonpath, run_episode, tail
from sandbox.tasks import Task, library_ids, load_task
from sandbox.tasks.oracles.browser.session import CHROMIUM

pytestmark = pytest.mark.slow

BROWSER_ORACLE = "sandbox.tasks.oracles.browser"
NAIVE_ORACLE = "sandbox.tasks.oracles.browser.naive"
# Columns that say when or by which door, not what: the episode clock moves with the number of calls,
# and the helpdesk records whether a comment came from the API or the web.
VOLATILE = {"created_at", "updated_at", "created", "updated", "ts", "via", "channel", "event_ts", "closed_at",
            "last_read", "latest_reply", "comments"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no browser for the browser oracles")
    from sandbox.run.supervisor import Sandbox

    home = Home.resolve(tmp_path_factory.mktemp("browser-oracles-home"))
    with Sandbox(home, ephemeral=True, workers=1) as running:
        yield running


def run(sandbox, task: Task, module: str, faults: str | None = None, **env: str) -> EpisodeRun:
    return run_episode(task, [sys.executable, "-m", module], home=sandbox.home, ports=sandbox.ports, faults=faults,
                       extra_env={**project_pythonpath(), **env})


def effect_of(task: Task, change: dict[str, Any]) -> str:
    for kind in ("required", "allowed", "forbidden"):
        for effect in getattr(task, kind):
            if effect.matches(change):
                return f"{kind}: {effect.name}"
    return "collateral"


def row_changes(home: Home, run: EpisodeRun, task: Task) -> Counter:
    """What an episode changed, door-independently: per change its table, op, the task effect it falls
    under and (for updates) which columns moved, ignoring clocks and the door it came through."""
    with Ledger(home.ledger_path(run.episode)) as ledger:
        changes = ledger.state_changes()
    out: Counter = Counter()
    for change in changes:
        before, after = change["before"] or {}, change["after"] or {}
        moved = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k not in VOLATILE)
        out[(change["service"], change["tbl"], change["op"], effect_of(task, change),
             tuple(moved) if change["op"] == "update" else ())] += 1
    return out


def web_only(home: Home, run: EpisodeRun) -> list[str]:
    """The exchanges of an episode that did not go to a vendor's web pages (API hosts, the helpdesk's
    /api/v2): a browser oracle through the pages only has none."""
    with Ledger(home.ledger_path(run.episode)) as ledger:
        exchanges = ledger.exchanges()
    web = {"dashboard.stripe.com", "app.slack.com", "github.com"}
    return [f"{e['method']} {e['host']}{e['path']}" for e in exchanges
            if not (e["host"] in web or (e["host"].endswith(".zendesk.com") and e["path"].startswith("/agent")))]


def explain(run: EpisodeRun) -> str:
    return f"{run.score.render()}\n--- agent log ---\n{tail(run.log, 30)}"


@pytest.mark.parametrize("task_id", library_ids())
def test_the_browser_oracle_passes_with_the_rest_oracles_row_changes(sandbox, task_id):
    task = load_task(task_id)
    rest = run(sandbox, task, task.oracle)
    browser = run(sandbox, task, BROWSER_ORACLE)
    assert (browser.score.success, browser.score.score) == (True, 1.0), explain(browser)
    assert web_only(sandbox.home, browser) == []
    assert row_changes(sandbox.home, browser, task) == row_changes(sandbox.home, rest, task)
