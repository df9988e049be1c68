"""`sandbox recordings scan`: find secrets a recording should not hold.

Every string of every line is checked against the token patterns recording redacts with
(`sandbox.recordings.redact.token_patterns`: the vendors' formats and one per registered fake's key
prefix, and any configured in the recording's header), and credential headers must hold `REDACTED`.
Bodies stored as base64 (`body_b64`, `data_b64`: not UTF-8) are decoded and checked too, and a
stream's events are checked joined as well as one by one (a secret can be split across two). A
finding names the file, line and place, never the whole secret.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.recordings.redact import MARK, Redactor

_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "api-key")


@dataclass(frozen=True)
class Leak:
    path: Path
    line: int
    where: str
    kind: str
    sample: str

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.where}: {self.kind} ({self.sample})"


def scan_file(path: Path | str) -> list[Leak]:
    path = Path(path)
    leaks: list[Leak] = []
    redactor = Redactor()
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = raw  # unreadable lines are still scanned as text
        if number == 1 and isinstance(obj, dict) and isinstance(obj.get("redact"), dict):
            redactor = Redactor.from_config(obj["redact"], f"{path}:1")
        seen: set[str] = set()  # samples found in single events: not reported again from the joined stream
        for where, value in _strings(obj, ""):
            found = redactor.findings(value, where)
            if where.endswith(_JOINED):
                found = [f for f in found if f.sample not in seen]
            seen.update(f.sample for f in found)
            leaks += [Leak(path, number, f.where, f.kind, f.sample) for f in found]
            if where.endswith(_CREDENTIAL_HEADERS_SUFFIX) and MARK not in value and value.strip():
                leaks.append(Leak(path, number, where, "credential header not redacted", value[:8] + "…"))
    return leaks


_JOINED = "events(joined)"


_CREDENTIAL_HEADERS_SUFFIX = tuple(f"headers.{h}" for h in _CREDENTIAL_HEADERS)


def _strings(obj: Any, where: str):
    if isinstance(obj, str):
        yield where or "line", obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            inner = f"{where}.{key}" if where else str(key)
            if str(key).endswith("_b64") and isinstance(value, str):
                yield inner, value
                yield inner + "(decoded)", _decoded(value)
            else:
                yield from _strings(value, inner)
        events = obj.get("events")
        if isinstance(events, list) and len(events) > 1 and all(isinstance(e, dict) for e in events):
            joined = b"".join(_event_data(e) for e in events)
            yield f"{where}.{_JOINED}" if where else _JOINED, joined.decode("utf-8", "replace")
    elif isinstance(obj, list):
        if where.endswith("headers") and all(isinstance(h, list) and len(h) == 2 for h in obj):
            for name, value in obj:
                yield f"{where}.{str(name).lower()}", str(value)
            return
        for i, value in enumerate(obj):
            yield from _strings(value, f"{where}[{i}]")


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""  # not base64: the value itself was checked as it is


def _event_data(event: dict) -> bytes:
    if isinstance(event.get("data"), str):
        return event["data"].encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(str(event.get("data_b64", "")), validate=True)
    except (binascii.Error, ValueError):
        return b""
