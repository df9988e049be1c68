"""The numbers a sweep reports, from its rows alone (pure functions, no I/O).

- pass^k (tau-bench): the chance that k independent trials of a task all succeed, estimated from
  n >= k trials with c successes as C(c, k) / C(n, k), then averaged over tasks (here: over the
  (task, seed) configurations of a group);
- noise floor: how often two identical trials (same agent, task, profile, seed) disagree on
  success: the share of trial pairs that flip, sum c(n - c) / sum n(n - 1)/2. A delta smaller than
  this is not evidence of anything;
- paired deltas: each fault profile's episodes against the no-fault baseline episodes of the same
  agent, task, seed and trial number, with a seeded bootstrap confidence interval;
- cost: what the episodes' failures would have cost in production (sandbox/scoring/cost.py), mean
  and total per agent and profile, and what the sandbox caught: the total cost of the failing
  episodes, which a production run would have paid. Rows that could not be scored (a sweep error)
  have no cost and are counted apart, never as $0.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from math import comb
from statistics import fmean
from typing import Any

BASELINE = "none"
Row = dict[str, Any]


def pass_hat_k(successes: int, trials: int, k: int) -> float | None:
    """C(c, k) / C(n, k): the unbiased estimate that k trials all pass; None if n < k."""
    if k < 1 or trials < k:
        return None
    return comb(successes, k) / comb(trials, k)


def group(rows: Iterable[Row], *keys: str) -> dict[tuple, list[Row]]:
    out: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        out[tuple(row[k] for k in keys)].append(row)
    return dict(out)


def pass_curve(rows: list[Row], max_k: int) -> dict[int, float | None]:
    """pass^1..pass^max_k of `rows` (one agent and profile): mean over (task, seed) configurations."""
    configs = group(rows, "task", "seed")
    curve: dict[int, float | None] = {}
    for k in range(1, max_k + 1):
        values = [pass_hat_k(sum(r["success"] for r in rs), len(rs), k) for rs in configs.values()]
        values = [v for v in values if v is not None]
        curve[k] = round(fmean(values), 4) if values else None
    return curve


def flip_rate(rows: list[Row]) -> dict[str, Any]:
    """The noise floor: share of identical-trial pairs that disagree on success."""
    flips = pairs = flaky = configs = 0
    for rs in group(rows, "agent", "task", "faults", "seed").values():
        n, c = len(rs), sum(r["success"] for r in rs)
        if n < 2:
            continue
        configs += 1
        flips += c * (n - c)
        pairs += n * (n - 1) // 2
        flaky += 0 < c < n
    return {"flip_rate": round(flips / pairs, 4) if pairs else None, "pairs": pairs, "flaky_configs": flaky,
            "configs": configs}


def bootstrap_ci(values: list[float], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
                 ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`; the same seed gives the same interval."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(values)
    means = sorted(fmean(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[int(tail * (resamples - 1))]
    high = means[int((1 - tail) * (resamples - 1))]
    return (round(low, 4), round(high, 4))


def paired_deltas(rows: list[Row], *, metric: str = "score", seed: int = 0) -> list[Row]:
    """For each agent, task and profile: mean(profile - baseline) over paired episodes, with a CI.

    Pairs are (seed, trial) of the same agent and task; a profile row without its baseline twin is
    left out (and counted in `unpaired`). An "all tasks" row per agent and profile pools the pairs."""
    base = {(r["agent"], r["task"], r["seed"], r["trial"]): r for r in rows if r["faults"] == BASELINE}
    out: list[Row] = []
    pooled: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (agent, task, faults), rs in sorted(group(rows, "agent", "task", "faults").items()):
        if faults == BASELINE:
            continue
        diffs, unpaired = [], 0
        for r in rs:
            twin = base.get((agent, task, r["seed"], r["trial"]))
            if twin is None:
                unpaired += 1
            else:
                diffs.append(float(r[metric]) - float(twin[metric]))
        pooled[(agent, faults)] += diffs
        out.append(_delta_row(agent, task, faults, metric, diffs, unpaired, seed))
    for (agent, faults), diffs in sorted(pooled.items()):
        out.append(_delta_row(agent, "(all tasks)", faults, metric, diffs, 0, seed))
    return out


def _delta_row(agent: str, task: str, faults: str, metric: str, diffs: list[float], unpaired: int,
               seed: int) -> Row:
    low, high = bootstrap_ci(diffs, seed=seed) if diffs else (None, None)
    return {
        "agent": agent, "task": task, "faults": faults, "metric": metric, "pairs": len(diffs),
        "unpaired": unpaired, "delta": round(fmean(diffs), 4) if diffs else None, "ci_low": low, "ci_high": high,
        # The interval excludes zero: the profile changed this agent's results beyond resampling noise.
        "significant": bool(diffs) and (high < 0 or low > 0),
    }


def summary(rows: list[Row], trials: int) -> list[Row]:
    """One row per agent, task and profile: episodes, success rate, mean score, pass^1..pass^k."""
    out = []
    for (agent, task, faults), rs in sorted(group(rows, "agent", "task", "faults").items()):
        curve = pass_curve(rs, max(1, trials))
        out.append({
            "agent": agent, "task": task, "faults": faults, "episodes": len(rs),
            "success_rate": round(fmean(r["success"] for r in rs), 4),
            "mean_score": round(fmean(r["score"] for r in rs), 4),
            "pass_k": {str(k): v for k, v in curve.items()},
            "mean_calls": round(fmean(r["calls"] for r in rs), 2),
            "retries": sum(r["retries"] for r in rs),
            "duplicated_writes": sum(r["duplicated_writes"] for r in rs),
            **_cost_figures(rs),
        })
    return out


def _cost_figures(rows: list[Row]) -> Row:
    priced = [r for r in rows if r.get("cost") is not None]
    total = sum(r["cost"] for r in priced)
    return {"mean_cost": round(total / len(priced), 2) if priced else None, "total_cost": round(total, 2),
            "caught_cost": round(sum(r["cost"] for r in priced if not r["success"]), 2),
            "unpriced": len(rows) - len(priced)}


def costs(rows: list[Row]) -> dict[str, Any]:
    """Cost per agent and profile and per agent, next to success, and the sweep's totals.

    `caught_cost` is the cost of the failing episodes: what the sandbox run caught that production
    would have paid for. A passing episode's cost (a retry's quota) is in `total_cost` only."""
    def line(rs: list[Row], **keys: Any) -> Row:
        return {**keys, "episodes": len(rs), "success_rate": round(fmean(r["success"] for r in rs), 4),
                **_cost_figures(rs)}

    return {
        "by_agent_profile": [line(rs, agent=agent, faults=faults)
                             for (agent, faults), rs in sorted(group(rows, "agent", "faults").items())],
        "by_agent": [line(rs, agent=agent) for (agent,), rs in sorted(group(rows, "agent").items())],
        "total": line(rows) if rows else None,
    }
