"""Every library task solved through the vendors' web pages: the browser oracle (Debian's Chromium
through the real proxy, `python -m sandbox.tasks.oracles.browser`) scores 1.0 and makes the same row
changes as the task's REST oracle; each UI nuisance profile is met by one task's run (the oracle
adapts and still makes exactly the REST oracle's rows), and the naive variant (no `adapt.settle`)
fails for the reason its profile names where that reason applies to a selector-driven agent.

The episodes run three at a time in one module-scoped sandbox (each has its own databases and
ledger, as in a sweep); the tests then read their ledgers."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.home import Home
from sandbox.sweep.episode import EpisodeRun, prepare_templates, project_pythonpath, run_episode, tail
from sandbox.tasks import Task, library_ids, load_task
from sandbox.tasks.oracles.browser.session import CHROMIUM

pytestmark = pytest.mark.slow

REST = "rest"
BROWSER = "sandbox.tasks.oracles.browser"
NAIVE = "sandbox.tasks.oracles.browser.naive"
PROFILES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "sandbox/faults/library").glob("ui-*.yaml"))
# Each task's browser run meets one UI nuisance profile (so every page set meets several): passing
# with the REST oracle's rows means it adapted without writing anything twice.
TASK_PROFILE = {
    "refund-duplicate-charge": "ui-confirm",
    "double-charge-ticket": "ui-session-expiry",
    "refund-status-inquiry": "ui-consent",
    "ambiguous-cancel-request": "ui-slow-list",
    "bug-report-escalation": "ui-rename",
    "triage-from-chat": "ui-page-size",
}
CHEAP_TASK = "refund-duplicate-charge"  # one service, four pages: the extra runs
EXTRA = [(CHEAP_TASK, BROWSER, None), (CHEAP_TASK, BROWSER, "ui-moving-button")]
# The naive oracle selects by id, follows #next-page and reads the DOM: it is not the agent that
# ui-rename (old labels), ui-moving-button (coordinates), ui-page-size (own offsets) or ui-slow-list
# (what is painted) catch. These three stop it, each for the reason its profile names.
NAIVE_FAILS = {
    "ui-consent": "intercepts pointer events",  # the banner takes the click (here: on sign-in)
    "ui-confirm": "expected one new refund on its page, found 0",  # the form waits for Confirm
    "ui-session-expiry": "expected one new refund on its page, found 0",  # the post was not written
}
NAIVE_TIMEOUT = "3"  # seconds a naive click may wait behind a banner before giving up
# Columns that say when or by which door, not what: the episode clock moves with the number of calls,
# and the helpdesk's `channel` (Zendesk's via.channel) records whether a write came from the API or the web.
VOLATILE = {"created_at", "updated_at", "created", "updated", "channel"}


def plan() -> list[tuple[str, str, str | None]]:
    runs = [(task, REST, None) for task in library_ids()]
    runs += [(task, BROWSER, TASK_PROFILE.get(task)) for task in library_ids()]
    runs += EXTRA + [(CHEAP_TASK, NAIVE, profile) for profile in NAIVE_FAILS]
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[tuple[Home, dict[tuple[str, str, str | None], EpisodeRun]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no browser for the browser oracles")
    from sandbox.run.supervisor import Sandbox

    home = Home.resolve(tmp_path_factory.mktemp("browser-oracles-home"))
    prepare_templates(home, [load_task(task).seed for task in library_ids()])
    with Sandbox(home, ephemeral=True, workers=1) as sandbox, ThreadPoolExecutor(max_workers=3) as pool:
        def run(key: tuple[str, str, str | None]) -> EpisodeRun:
            task_id, module, profile = key
            task = load_task(task_id)
            env = {**project_pythonpath(), **({"SANDBOX_BROWSER_TIMEOUT": NAIVE_TIMEOUT} if module == NAIVE else {})}
            return run_episode(task, [sys.executable, "-m", task.oracle if module == REST else module],
                               home=home, ports=sandbox.ports, faults=profile, extra_env=env)

        keys = plan()
        yield home, dict(zip(keys, pool.map(run, keys), strict=True))


def effect_of(task: Task, change: dict[str, Any]) -> str:
    for kind in ("required", "allowed", "forbidden"):
        for effect in getattr(task, kind):
            if effect.matches(change):
                return f"{kind}: {effect.name}"
    return "collateral"


def ledger_of(home: Home, run: EpisodeRun) -> dict[str, list[dict[str, Any]]]:
    with Ledger(home.ledger_path(run.episode)) as ledger:
        return {"changes": ledger.state_changes(), "exchanges": ledger.exchanges(), "faults": ledger.faults()}


def row_changes(home: Home, run: EpisodeRun, task: Task) -> Counter:
    """What an episode changed, door-independently: per change its table, op, the task effect it falls
    under and (for updates) which columns moved, ignoring clocks and the door it came through."""
    out: Counter = Counter()
    for change in ledger_of(home, run)["changes"]:
        before, after = change["before"] or {}, change["after"] or {}
        moved = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k not in VOLATILE)
        out[(change["service"], change["tbl"], change["op"], effect_of(task, change),
             tuple(moved) if change["op"] == "update" else ())] += 1
    return out


def not_through_pages(home: Home, run: EpisodeRun) -> list[str]:
    """The exchanges that did not go to a vendor's web pages (API hosts, the helpdesk's /api/v2)."""
    web = {"dashboard.stripe.com", "app.slack.com", "github.com"}
    return [f"{e['method']} {e['host']}{e['path']}" for e in ledger_of(home, run)["exchanges"]
            if not (e["host"] in web or (e["host"].endswith(".zendesk.com") and e["path"].startswith("/agent")))]


def explain(run: EpisodeRun) -> str:
    return f"{run.score.render()}\n--- agent log ---\n{tail(run.log, 30)}"


def test_every_ui_profile_is_met_by_a_browser_run():
    met = {profile for _, module, profile in plan() if module == BROWSER and profile}
    assert PROFILES and set(PROFILES) <= met, f"add {sorted(set(PROFILES) - met)} to TASK_PROFILE or EXTRA"


@pytest.mark.parametrize("task_id", library_ids())
def test_the_browser_oracle_passes_through_the_pages_with_the_rest_oracles_rows(runs, task_id):
    home, done = runs
    task, profile = load_task(task_id), TASK_PROFILE.get(task_id)
    browser, rest = done[(task_id, BROWSER, profile)], done[(task_id, REST, None)]
    assert (rest.score.success, rest.score.score) == (True, 1.0), explain(rest)
    assert (browser.score.success, browser.score.score) == (True, 1.0), explain(browser)
    assert not_through_pages(home, browser) == []
    assert row_changes(home, browser, task) == row_changes(home, rest, task)
    if profile:  # the nuisance was really there, and was got past
        assert ledger_of(home, browser)["faults"], f"{profile} never fired on {task_id}"


@pytest.mark.parametrize("key", EXTRA, ids=lambda key: key[2] or "plain")
def test_the_cheap_task_passes_plain_and_under_the_remaining_profile(runs, key):
    home, done = runs
    run, rest = done[key], done[(CHEAP_TASK, REST, None)]
    assert (run.score.success, run.score.score) == (True, 1.0), explain(run)
    assert row_changes(home, run, load_task(CHEAP_TASK)) == row_changes(home, rest, load_task(CHEAP_TASK))
    assert bool(ledger_of(home, run)["faults"]) == bool(key[2])


@pytest.mark.parametrize("profile", sorted(NAIVE_FAILS))
def test_the_naive_oracle_fails_for_the_reason_its_profile_names(runs, profile):
    home, done = runs
    run = done[(CHEAP_TASK, NAIVE, profile)]
    ledger = ledger_of(home, run)
    assert not run.score.success, explain(run)
    assert any(r.startswith("missing: one full refund") for r in run.score.reasons), explain(run)
    assert [c for c in ledger["changes"] if c["tbl"] == "refunds"] == []
    assert NAIVE_FAILS[profile] in run.log.read_text(), explain(run)
    posts = [e for e in ledger["exchanges"] if e["method"] == "POST" and e["path"].endswith("/refund")]
    if profile == "ui-confirm":
        assert posts == []  # the button opened the dialog; the form was never sent
    if profile == "ui-session-expiry":
        assert [(p["status"], p["outcome"]) for p in posts] == [(303, "faulted")]
