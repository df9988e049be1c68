"""Where recordings live and how they reach the disk: whole, or not at all.

A recording is named (`refund-run`) or given as a path. Names resolve to
`<recordings dir>/<name>.jsonl`, the recordings dir being `$SANDBOX_RECORDINGS` or `./recordings`.

While an episode records, the proxy appends each exchange, redacted, to `<name>.jsonl.partial`.
When the episode finishes, `finalize()` adds the header (seed, task, the original run's ledger
summary and score) and the state changes each exchange caused, writes `<name>.jsonl.tmp` and
renames it over `<name>.jsonl`: a reader sees the old recording or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.errors import did_you_mean
from sandbox.recordings.format import (
    SUFFIX,
    Exchange,
    Recording,
    RecordingError,
    dump_lines,
    exchange_from_json,
    exchange_to_json,
    new_header,
    read_recording,
)
from sandbox.recordings.redact import Redactor

ENV_VAR = "SANDBOX_RECORDINGS"
PARTIAL = ".partial"


def recordings_dir(base: str | os.PathLike[str] | None = None) -> Path:
    return Path(base or os.environ.get(ENV_VAR) or "recordings").resolve()


def resolve(name_or_path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> Path:
    """A recording's file: a path as given (if it has a folder or a suffix), else `<dir>/<name>.jsonl`."""
    text = str(name_or_path)
    if os.sep in text or "/" in text or text.endswith((SUFFIX, ".har", ".json")):
        return Path(text).resolve()
    if not text or text.startswith(".") or not all(c.isalnum() or c in "._-" for c in text):
        raise RecordingError(f"recording name {text!r} is not usable",
                             hint="use letters, digits, '.', '_' or '-', or give a path to a .jsonl file")
    return recordings_dir(base) / f"{text}{SUFFIX}"


def require_name(text: str) -> str:
    """A name a recording can be saved under (and `list` then shows): no folder, no suffix."""
    if (not text or text.startswith(".") or text.endswith((SUFFIX, ".har", ".json"))
            or not all(c.isalnum() or c in "._-" for c in text)):
        raise RecordingError(
            f"recording name {text!r} is not a plain name",
            hint=f"use letters, digits, '.', '_' or '-' (e.g. refund-run); it is saved as "
                 f"{recordings_dir()}/<name>{SUFFIX}; set ${ENV_VAR} to keep recordings in another folder")
    return text


def resolve_name(name: object, base: str | os.PathLike[str] | None = None) -> Path:
    """The file of the recording called `name`, strictly inside the recordings folder.

    For callers that must not reach other files (the control API: a name comes from whoever holds
    its token, and a record episode overwrites its file): only a plain name (`require_name`) is
    accepted, never a path, `..`, `\\`, NUL or a suffix, and the resolved file (symlinks followed)
    must still be inside the folder. The CLI keeps `resolve`, which takes paths: the operator's choice."""
    if not isinstance(name, str):
        raise RecordingError(f"a recording is named by a string, got {name!r}", hint="e.g. \"refund-run\"")
    if "\0" in name or "/" in name or "\\" in name or ".." in name or os.path.isabs(name):
        raise RecordingError(
            f"recording {name!r} is a path, and only names are accepted here",
            hint=f"give a plain name such as refund-run: it is {recordings_dir(base)}/<name>{SUFFIX}")
    require_name(name)
    folder = recordings_dir(base)
    path = (folder / f"{name}{SUFFIX}").resolve()
    if not path.is_relative_to(folder):  # e.g. a symlink in the folder pointing elsewhere
        raise RecordingError(f"recording {name!r} resolves to {path}, outside {folder}",
                             hint="remove that link, or use another name")
    return path


def list_recordings(base: str | os.PathLike[str] | None = None) -> list[Path]:
    folder = recordings_dir(base)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def load(name_or_path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> Recording:
    path = resolve(name_or_path, base)
    if not path.exists():
        known = [p.stem for p in list_recordings(base)]
        raise RecordingError(f"no recording at {path}", hint=did_you_mean(path.stem, known) if known else
                             "record one with `sandbox run --record NAME TASK -- COMMAND` or import a HAR file")
    return read_recording(path)


def write_atomic(path: Path, lines: Iterable[str]) -> Path:
    """Write `lines` to `path.tmp` (0600: a recording holds what agents sent, and redaction only catches
    the secrets it recognises), fsync, rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a stale .tmp left by a crash keeps its old mode through O_CREAT
        with open(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save(recording: Recording, path: Path | None = None) -> Path:
    target = path or recording.path
    if target is None:
        raise RecordingError("the recording has no path to be saved at")
    return write_atomic(Path(target), dump_lines(recording.header, recording.exchanges))


# -- recording an episode -------------------------------------------------------------------------


def partial_path(path: Path | str, episode_id: str) -> Path:
    """Per episode, so two episodes recording to one name never interleave their lines."""
    return Path(f"{path}.{episode_id}{PARTIAL}")


def append_partial(path: Path | str, episode_id: str, exchange: Exchange, redact: dict[str, Any]) -> None:
    """One exchange, one line, appended with a single write (the proxy calls this per response).
    The first line of a partial file says how it was redacted."""
    target = partial_path(path, episode_id)
    line = json.dumps(exchange_to_json(exchange), ensure_ascii=False, separators=(",", ":")) + "\n"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"partial": episode_id, "redact": redact}) + "\n" + line
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_partial(path: Path | str, episode_id: str) -> tuple[list[Exchange], dict[str, Any]]:
    """The exchanges appended so far and the redaction config. A last line cut short by a crash is
    dropped; any other bad line is an error."""
    target = partial_path(path, episode_id)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], {}
    complete = text.split("\n")[:-1]  # after the last newline: nothing, or a line cut short
    exchanges, redact = [], {}
    for number, raw in enumerate(complete, 1):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{target}:{number}: not valid JSON ({exc.msg})") from None
        if "partial" in obj:
            redact = obj.get("redact") or {}
            continue
        exchanges.append(exchange_from_json(obj, target, number))
    return exchanges, redact


def finalize(episode_id: str, recording: str | Path, ledger_path: Path, name: str | None = None) -> Path:
    """Turn the episode's partial recording into the recording file, with the header and the state
    changes from its ledger. Returns the path written."""
    from sandbox.episodes.ledger import Ledger

    path = Path(recording)
    if not partial_path(path, episode_id).exists() and path.exists():
        return path  # finalized already (an episode is finished, and so finalized, once)
    exchanges, redact = read_partial(path, episode_id)
    # The ledger keeps what the fakes stored, secrets included (an agent may paste its key into an
    # issue): state changes and paths are redacted like the exchanges before they are written.
    redactor = Redactor.from_config(redact, f"{partial_path(path, episode_id)}:1")
    with Ledger(ledger_path) as ledger:
        meta = ledger.meta()
        changes = ledger.state_changes()
        rows = ledger.exchanges()
        scores = ledger.scores()
        events = ledger.events()
    by_exchange: dict[int, list[dict[str, Any]]] = {}
    for change in changes:
        by_exchange.setdefault(change["exchange_id"], []).append(
            {"service": change["service"], "seq": change["seq"], "table": change["tbl"],
             "key": redactor.text(str(change["row_key"])), "op": change["op"],
             "before": redactor.value(change["before"]), "after": redactor.value(change["after"])})
    exchanges.sort(key=lambda ex: ex.exchange or 0)
    for ex in exchanges:
        ex.effects = by_exchange.get(ex.exchange, [])
    spec = meta.get("task_spec")
    agent = next((e["detail"] for e in reversed(events) if e["kind"] == "agent_exit"), None)
    header = new_header(
        name=name or path.name.removesuffix(SUFFIX),
        episode=episode_id,
        seed=meta.get("seed"),
        task=meta.get("task"),
        task_spec=json.loads(spec) if isinstance(spec, str) else spec,
        clock_start=meta.get("clock_start"),
        source="proxy",
        redact=redact or {"fields": [], "patterns": []},
        match={"sequence": "repeat_last"},
        on_miss="error",
        original={
            "exchanges": [[r["method"], r["host"], redactor.text(r["path"]), r["status"], r["outcome"]] for r in rows],
            "state_changes": [_change_summary(c, redactor) for c in changes],
            "score": _score_summary(scores[-1]) if scores else None,
            "agent_exit_code": agent.get("exit_code") if agent else None,
        },
    )
    written = write_atomic(path, dump_lines(header, exchanges))
    partial_path(path, episode_id).unlink(missing_ok=True)
    return written


def _change_summary(change: dict[str, Any], redactor: Redactor) -> list[Any]:
    return [change["service"], change["tbl"], redactor.text(str(change["row_key"])), change["op"]]


def _score_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {"task": row["task"], "success": bool(row["success"]), "score": row["score"], "reasons": row["reasons"]}
