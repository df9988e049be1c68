"""Compare a replayed run with the run that was recorded: exchanges, state changes, score.

The recording's header keeps a summary of the original episode's ledger (`original`): every
exchange as (method, host, path, status), the state changes as (service, table, key, op), and the
score. A replay that differs in any of them is a regression (or an intended change to re-record).

An imported recording (HAR, mitmproxy flows) has no such summary: there is nothing to compare the
run with (`NOTHING_TO_COMPARE`), so only what the replay itself shows counts against it
(`replay_problems`): requests the recording had no answer for, and an agent that did not end well.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from sandbox.episodes.ledger import Ledger
from sandbox.recordings.redact import Redactor
from sandbox.scoring.score import agent_exit_reasons

# Wall-clock durations in the reasons of a time-limit overrun ("time: 5.1 s, limit 5 s") differ between runs.
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? s\b")


def summarize(ledger_path: Path, redactor: Redactor | None = None) -> dict[str, Any]:
    """The ledger summarised as a recording's `original` is (paths and keys redacted the same way)."""
    redactor = redactor or Redactor()
    with Ledger(ledger_path) as ledger:
        rows = ledger.exchanges()
        changes = ledger.state_changes()
        scores = ledger.scores()
    changes.sort(key=lambda c: (c["exchange_id"] or 0, c["id"]))
    return {
        "exchanges": [[r["method"], r["host"], redactor.text(r["path"]), r["status"]] for r in rows],
        "state_changes": [[c["service"], c["tbl"], redactor.text(str(c["row_key"])), c["op"]] for c in changes],
        "score": _score(scores[-1]) if scores else None,
    }


def _score(row: dict[str, Any]) -> dict[str, Any]:
    return {"success": bool(row["success"]), "score": row["score"], "reasons": row["reasons"]}


def differences(original: dict[str, Any] | None, replayed: dict[str, Any]) -> list[str]:
    """What changed, as lines a person reads; empty when the runs agree."""
    if not original:
        return []  # nothing to compare with (NOTHING_TO_COMPARE): see replay_problems
    out: list[str] = []
    before = [" ".join(str(x) for x in e[:4]) for e in original.get("exchanges", [])]
    after = [" ".join(str(x) for x in e[:4]) for e in replayed["exchanges"]]
    if before != after:
        out.append("exchanges differ (- original, + replay):")
        out += [f"  {line}" for line in difflib.unified_diff(before, after, lineterm="", n=1)][2:]
    changes_before = sorted(" ".join(str(x) for x in c) for c in original.get("state_changes", []))
    changes_after = sorted(" ".join(str(x) for x in c) for c in replayed["state_changes"])
    if changes_before != changes_after:
        out.append("state changes differ (- original, + replay):")
        out += [f"  -{c}" for c in changes_before if c not in changes_after]
        out += [f"  +{c}" for c in changes_after if c not in changes_before]
    s_before, s_after = original.get("score"), replayed.get("score")
    if s_before and s_after:
        if (s_before["success"], s_before["score"]) != (s_after["success"], s_after["score"]):
            out.append(f"score: original {'PASS' if s_before['success'] else 'FAIL'} {s_before['score']}, "
                       f"replay {'PASS' if s_after['success'] else 'FAIL'} {s_after['score']}")
        reasons_before = [_SECONDS.sub("<t> s", r) for r in s_before.get("reasons", [])]
        reasons_after = [_SECONDS.sub("<t> s", r) for r in s_after.get("reasons", [])]
        out += [f"  - {r}" for r in reasons_before if r not in reasons_after]
        out += [f"  + {r}" for r in reasons_after if r not in reasons_before]
    elif bool(s_before) != bool(s_after):
        out.append(f"score: original {s_before}, replay {s_after}")
    return out


NOTHING_TO_COMPARE = ("note: the recording has no summary of an original run (it was imported, not recorded with "
                      "`sandbox run --record`): there is nothing to compare exchanges, state changes or a score "
                      "against; only requests without a recorded answer and how the agent ended are checked")


def replay_problems(ledger_path: Path) -> list[str]:
    """What went wrong in a replay that has no original to compare with: each request the recording
    had no answer for, and the agent's end if it was not a clean exit. Empty when all went well."""
    with Ledger(ledger_path) as ledger:
        events = ledger.events()
    out = []
    misses = [e["detail"] for e in events if e["kind"] == "replay_miss"]
    if misses:
        out.append(f"{len(misses)} request(s) the recording has no answer for:")
        out += [f"  {m.get('request')}: {m.get('reason')}" for m in misses]
    return out + agent_exit_reasons(events, limit="the time limit")
