"""`sandbox recordings scan`: find secrets a recording should not hold.

Every string of every line is checked against the token patterns recording redacts with
(`sandbox.recordings.redact.token_patterns`: the vendors' formats and one per registered fake's key
prefix, and any configured in the recording's header), and credential headers must hold `REDACTED`. A
finding names the file, line and place, never the whole secret.
"""

from __future__ import annotations

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
        for where, value in _strings(obj, ""):
            leaks += [Leak(path, number, f.where, f.kind, f.sample) for f in redactor.findings(value, where)]
            if where.endswith(_CREDENTIAL_HEADERS_SUFFIX) and MARK not in value and value.strip():
                leaks.append(Leak(path, number, where, "credential header not redacted", value[:8] + "…"))
    return leaks


_CREDENTIAL_HEADERS_SUFFIX = tuple(f"headers.{h}" for h in _CREDENTIAL_HEADERS)


def _strings(obj: Any, where: str):
    if isinstance(obj, str):
        yield where or "line", obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(obj, list):
        if where.endswith("headers") and all(isinstance(h, list) and len(h) == 2 for h in obj):
            for name, value in obj:
                yield f"{where}.{str(name).lower()}", str(value)
            return
        for i, value in enumerate(obj):
            yield from _strings(value, f"{where}[{i}]")
