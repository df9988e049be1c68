"""A sweep's results on disk: `results.json` (everything, the report's input) and `results.csv`
(one row per episode, for spreadsheets and pandas)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigError
from sandbox.sweep.run import RESULTS_VERSION

CSV_COLUMNS = ["agent", "task", "faults", "seed", "trial", "episode", "success", "score", "credit", "calls",
               "errors", "retries", "duplicated_writes", "seconds", "exit_code", "timed_out", "harms", "leaks",
               "faults_fired", "reasons"]


def write_results(doc: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "csv": out / "results.csv"}
    paths["json"].write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in doc["rows"]:
            writer.writerow({**row, "reasons": " | ".join(row["reasons"])})
    return paths


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
