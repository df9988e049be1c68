"""A sweep's results on disk: `results.json` (everything, the report's input) and `results.csv`
(one row per episode, for spreadsheets and pandas; `cost` in dollars, `cost_lines` what makes it
up; `reruns` how often the episode was started again because the Ray worker running it was lost),
both written atomically; while the sweep runs, `results.partial.jsonl` gets each row as its
episode finishes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigError
from sandbox.recordings.store import write_atomic  # temp file, fsync, rename
from sandbox.sweep.run import RESULTS_VERSION

CSV_COLUMNS = ["agent", "task", "faults", "seed", "trial", "fault_seed", "episode", "success", "score", "cost",
               "credit", "calls", "errors", "retries", "duplicated_writes", "seconds", "exit_code", "timed_out",
               "harms", "leaks", "faults_fired", "reasons", "cost_lines", "error", "reruns"]
PARTIAL = "results.partial.jsonl"  # one row per line, appended as episodes finish


def write_results(doc: dict[str, Any], out: Path) -> dict[str, Path]:
    """results.json and results.csv in `out`, each whole or not at all (written beside, then renamed):
    a reader, or a sweep killed while writing, never leaves half a file over the last good one."""
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in doc["rows"]:
        writer.writerow({**row, "reasons": " | ".join(row["reasons"]),
                         "cost_lines": " | ".join(f"${line['amount']:,.2f} {line['what']}"
                                                  for line in row.get("cost_lines") or [])})
    # Both rendered before either is written: a bad row leaves the last good pair, not a new json and an old csv.
    return {"json": write_atomic(out / "results.json", [text]),
            "csv": write_atomic(out / "results.csv", [table.getvalue()])}


def read_results(path: Path | str) -> dict[str, Any]:
    """A results.json written by `sandbox sweep`, or a ConfigError saying what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no results file at {path}", hint="give the results.json a sweep wrote") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON: {exc}", hint="give the results.json a sweep wrote") from None
    if not isinstance(doc, dict) or doc.get("version") != RESULTS_VERSION or "rows" not in doc:
        raise ConfigError(f"{path} is not a sweep results file of version {RESULTS_VERSION}",
                          hint="rerun the sweep with this sandbox version")
    return doc
