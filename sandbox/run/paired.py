"""Paired runs: the same task, seed and agent, once without faults and once with a profile, and
what changed: score, calls, errors, retries, duplicated side effects.

    from sandbox.run.paired import paired_run
    result = paired_run(load_task("refund-duplicate-charge"), ["python", "agent.py"], faults="ghost-refund",
                        home=home, ports=sandbox.ports)
    print(result.render())

Everything is computed from the two episodes' ledgers, so `compare_ledgers(a, b)` gives the same
table for any two episodes already run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sandbox.episodes.ledger import Ledger
from sandbox.home import Home
from sandbox.run.runner import RunResult, run_task
from sandbox.scoring.efficiency import measure
from sandbox.tasks import Task


@dataclass(frozen=True)
class Figures:
    """What one episode did, from its ledger."""

    episode: str
    success: bool | None
    score: float | None
    calls: int
    errors: int
    retries: int  # calls repeating an earlier call (same method, URL, body) that had failed
    duplicated_effects: int  # repeated writes that changed state again, each time
    faults: int


def figures_of(ledger_path: Path | str) -> Figures:
    with Ledger(ledger_path) as ledger:
        meta = ledger.meta()
        exchanges = ledger.exchanges()
        changes = ledger.state_changes()
        events = ledger.events()
        faults = ledger.faults()
        scores = ledger.scores()
    # The same counting as the score's efficiency line, so the two never disagree.
    counted = measure(exchanges, changes, events)
    last = scores[-1] if scores else None
    return Figures(
        episode=str(meta.get("episode")),
        success=bool(last["success"]) if last else None,
        score=last["score"] if last else None,
        calls=counted.calls,
        errors=counted.errors,
        retries=counted.retries,
        duplicated_effects=counted.duplicated_writes,
        faults=len(faults),
    )


@dataclass(frozen=True)
class Comparison:
    task: str | None
    seed: int | None
    profile: str
    without: Figures
    with_faults: Figures

    def difference(self) -> dict[str, float]:
        out = {}
        for name in ("score", "calls", "errors", "retries", "duplicated_effects", "faults"):
            a, b = getattr(self.without, name), getattr(self.with_faults, name)
            if a is not None and b is not None:
                out[name] = round(b - a, 4)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "seed": self.seed, "profile": self.profile, "without": asdict(self.without),
                "with_faults": asdict(self.with_faults), "difference": self.difference()}

    def render(self) -> str:
        def verdict(f: Figures) -> str:
            return "-" if f.success is None else ("PASS" if f.success else "FAIL")

        rows = [("episode", self.without.episode, self.with_faults.episode, ""),
                ("success", verdict(self.without), verdict(self.with_faults), "")]
        change = self.difference()
        for name, label in (("score", "score"), ("calls", "calls"), ("errors", "errors"), ("retries", "retries"),
                            ("duplicated_effects", "duplicated side effects"), ("faults", "faults fired")):
            a, b = getattr(self.without, name), getattr(self.with_faults, name)
            shown = (lambda v: "-" if v is None else f"{v:.2f}") if name == "score" else str
            delta = change.get(name)
            rows.append((label, shown(a), shown(b), "" if delta is None else f"{delta:+g}"))
        head = f"paired run of {self.task or '?'} (seed {self.seed}) without / with faults {self.profile!r}"
        lines = [head, f"  {'':24} {'without':>16} {'with faults':>16} {'change':>8}"]
        lines += [f"  {label:24} {a:>16} {b:>16} {d:>8}" for label, a, b, d in rows]
        return "\n".join(lines)


def compare_ledgers(without: Path | str, with_faults: Path | str, profile: str = "?") -> Comparison:
    with Ledger(with_faults) as ledger:
        meta = ledger.meta()
    return Comparison(meta.get("task"), meta.get("seed"), profile, figures_of(without), figures_of(with_faults))


@dataclass(frozen=True)
class PairedResult:
    without: RunResult
    with_faults: RunResult
    comparison: Comparison

    def render(self) -> str:
        return self.comparison.render()

    def to_dict(self) -> dict[str, Any]:
        return {**self.comparison.to_dict(), "scores": {"without": self.without.score.to_dict(),
                                                        "with_faults": self.with_faults.score.to_dict()}}


def paired_run(
    task: Task,
    command: list[str],
    *,
    faults: str,
    home: Home,
    ports: dict[str, Any],
    timeout: float | None = None,
    extra_env: dict[str, str] | None = None,
    isolate: bool | None = None,
) -> PairedResult:
    """Run `command` on `task` twice in fresh episodes of the same seed: without faults, then with
    the profile `faults`, and compare the two ledgers. `isolate` as in run_task (None: where the
    kernel allows it)."""
    from sandbox.faults import profile_ref

    ref = profile_ref(faults)  # a bad profile fails before either run
    without = run_task(task, command, home=home, ports=ports, timeout=timeout, extra_env=extra_env, isolate=isolate)
    with_faults = run_task(task, command, home=home, ports=ports, timeout=timeout, extra_env=extra_env, faults=ref,
                           isolate=isolate)
    comparison = compare_ledgers(home.ledger_path(without.episode.id), home.ledger_path(with_faults.episode.id),
                                 profile=Path(ref).stem if "/" in ref else ref)
    return PairedResult(without, with_faults, comparison)


def dumps(result: PairedResult) -> str:
    return json.dumps(result.to_dict(), indent=2)
