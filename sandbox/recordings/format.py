"""The recording format, version 1: JSON Lines, one header line, then one line per exchange.

    {"format": "agent-sandbox-recording", "version": 1, "count": 2, "seed": 7, "task": ..., ...}
    {"seq": 1, "upstream": "fake:payments", "request": {...}, "response": {...}, ...}
    {"seq": 2, "upstream": "real", "request": {...}, "response": {..., "events": [...]}, ...}

One exchange per line keeps a `git diff` of two recordings readable: a changed answer is a changed
line. Bodies are text when they are UTF-8 (`body`), base64 otherwise (`body_b64`). A streamed
response (server-sent events, chunked) keeps its pieces as `events`, each `{data, delay_ms}`.
recordings/README.md documents every field.

Loading checks every line and names the file and line of the first problem; a header whose
`count` disagrees with the lines present means a truncated (or hand-trimmed) file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.errors import RecordingError  # defined there; the recordings modules import it from here too
from sandbox.recordings.redact import Redactor

FORMAT = "agent-sandbox-recording"
VERSION = 1
SUFFIX = ".jsonl"


@dataclass
class StreamEvent:
    """One piece of a streamed response, as it reached the proxy: an SSE event or a chunk."""

    data: bytes
    delay_ms: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    host: str
    path: str
    scheme: str = "https"
    port: int | None = None
    query: str = ""
    http_version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def url(self) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        netloc = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}" + (f"?{self.query}" if self.query else "")

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class RecordedResponse:
    status: int
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    events: list[StreamEvent] | None = None  # set for streamed responses; body is then their concatenation

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Exchange:
    request: RecordedRequest
    response: RecordedResponse
    seq: int = 0  # 1-based position in the recording
    upstream: str = "real"  # fake:<service> | route:<host> (a routed host's server) | real | imported
    clock: int | None = None  # the episode clock at this exchange
    exchange: int | None = None  # its id in the recording episode's ledger
    timing: dict[str, float] = field(default_factory=dict)  # start_ms (from the first exchange), duration_ms
    effects: list[dict[str, Any]] = field(default_factory=list)  # state changes the exchange caused
    line: int = 0  # where it was read from (not written)


@dataclass
class Recording:
    header: dict[str, Any]
    exchanges: list[Exchange]
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.header.get("name") or (self.path.stem if self.path else "recording")


def new_header(**fields: Any) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, **fields}


# -- writing --------------------------------------------------------------------------------------


def encode_body(data: bytes, key: str = "body") -> dict[str, str]:
    """`{"body": text}` for UTF-8, `{"body_b64": ...}` otherwise, `{}` when empty."""
    if not data:
        return {}
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {key + "_b64": base64.b64encode(data).decode("ascii")}


def exchange_to_json(ex: Exchange) -> dict[str, Any]:
    req, resp = ex.request, ex.response
    request: dict[str, Any] = {"method": req.method, "scheme": req.scheme, "host": req.host, "port": req.port,
                               "path": req.path, "query": req.query, "http_version": req.http_version,
                               "headers": [list(h) for h in req.headers], **encode_body(req.body)}
    response: dict[str, Any] = {"status": resp.status, "reason": resp.reason, "http_version": resp.http_version,
                                "headers": [list(h) for h in resp.headers]}
    if resp.events is not None:
        response["events"] = [{**encode_body(e.data, "data"), "delay_ms": round(e.delay_ms, 1)} for e in resp.events]
    else:
        response.update(encode_body(resp.body))
    out: dict[str, Any] = {"seq": ex.seq, "upstream": ex.upstream}
    if ex.exchange is not None:
        out["exchange"] = ex.exchange
    if ex.clock is not None:
        out["clock"] = ex.clock
    out.update(request=request, response=response)
    if ex.timing:
        out["timing"] = ex.timing
    if ex.effects:
        out["effects"] = ex.effects
    return out


def dump_lines(header: dict[str, Any], exchanges: Iterable[Exchange]) -> Iterator[str]:
    """The file's lines (each ending in a newline); `count` in the header is set here."""
    exchanges = list(exchanges)
    for i, ex in enumerate(exchanges, 1):
        ex.seq = i
    yield _line({**header, "format": FORMAT, "version": VERSION, "count": len(exchanges)})
    for ex in exchanges:
        yield _line(exchange_to_json(ex))


def _line(obj: dict[str, Any]) -> str:
    # ensure_ascii=False: text stays readable in a diff; separators keep lines short.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# -- reading --------------------------------------------------------------------------------------


def read_recording(path: Path | str) -> Recording:
    """Load and check a recording; any problem is a RecordingError naming `path:line`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError(f"no recording at {path}",
                             hint="`sandbox recordings list` shows the recordings; record one with "
                                  "`sandbox run --record NAME TASK -- COMMAND`") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not UTF-8 text (byte {exc.start})", hint="is this a recording?") from None
    return parse_recording(text, path)


def parse_recording(text: str, path: Path | str = "<recording>") -> Recording:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise RecordingError(f"{path}: the file is empty", hint="re-record it, or delete it")
    header = _parse_line(path, 1, lines[0])
    _check_header(path, header)
    exchanges = []
    for number, raw in enumerate(lines[1:], 2):
        if not raw.strip():
            continue
        exchanges.append(exchange_from_json(_parse_line(path, number, raw), path, number))
    if not text.endswith("\n"):
        raise RecordingError(f"{path}:{len(lines)}: the last line has no newline: the file was cut short",
                             hint="re-record it; the sandbox itself never leaves a half-written recording")
    _check_effects_unique(path, exchanges)
    count = header.get("count")
    if isinstance(count, int) and count != len(exchanges):
        raise RecordingError(
            f"{path}: the header (line 1) says {count} exchanges, the file has {len(exchanges)}",
            hint="the file was truncated or lines were removed by hand; if the edit was on purpose, "
                 f"set \"count\": {len(exchanges)} in the header")
    return Recording(header, exchanges, Path(path) if not isinstance(path, Path) else path)


def _check_effects_unique(path: Path | str, exchanges: list[Exchange]) -> None:
    """A state change is one (service, seq): the ledger would keep only the first of two."""
    seen: dict[tuple[str, int], str] = {}
    for ex in exchanges:
        for i, effect in enumerate(ex.effects):
            key = (effect["service"], effect["seq"])
            if key in seen:
                raise RecordingError(
                    f"{path}:{ex.line}: effects[{i}]: {key[0]} change seq {key[1]} is already at {seen[key]}",
                    hint="each state change has its own seq; fix the hand edit, or re-record")
            seen[key] = f"line {ex.line} effects[{i}]"


def _parse_line(path: Path | str, number: int, raw: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})",
                             hint="the line was truncated or hand-edited; fix it or re-record") from None
    if not isinstance(obj, dict):
        raise RecordingError(f"{path}:{number}: expected a JSON object, found {type(obj).__name__}")
    return obj


def _check_header(path: Path | str, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise RecordingError(
            f"{path}:1: not an agent-sandbox recording (format {header.get('format')!r}, expected {FORMAT!r})",
            hint="HAR and mitmproxy files are imported first: `sandbox recordings import FILE NAME`")
    version = header.get("version")
    if version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        raise RecordingError(
            f"{path}:1: recording format version {version!r}; this sandbox reads version {VERSION}",
            hint="upgrade the sandbox to replay it" if newer else "re-record it with this sandbox version")
    for key in ("count", "clock_start", "seed"):
        _optional(header, key, int, "", path, 1)
    for key in ("name", "task", "source", "on_miss"):
        _optional(header, key, str, "", path, 1)
    Redactor.from_config(header.get("redact"), f"{path}:1")


def _need(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, path, number: int) -> Any:
    if key not in obj:
        raise RecordingError(f"{path}:{number}: {where}{key} is missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise RecordingError(f"{path}:{number}: {where}{key} should be {names}, found {json.dumps(value)[:60]}")
    return value


def _optional(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, path, number: int,
              default: Any = None) -> Any:
    """`obj[key]` checked like `_need`, or `default` when it is absent or null."""
    if obj.get(key) is None:
        return default
    return _need(obj, key, kind, where, path, number)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


_OPS = ("insert", "update", "delete")
_EFFECT_HINT = ("effects are written by the sandbox from the recorded episode's ledger; fix the hand edit, or "
                "re-record")


def _effects(obj: dict[str, Any], path, number: int) -> list[dict[str, Any]]:
    """The state changes of an exchange, each checked: replay writes them into the ledger, and a
    scored episode must not lose one silently."""
    effects = obj.get("effects")
    if effects is None:
        return []
    if not isinstance(effects, list):
        raise RecordingError(f"{path}:{number}: effects should be a list", hint=_EFFECT_HINT)
    for i, effect in enumerate(effects):
        where = f"effects[{i}]."
        if not isinstance(effect, dict):
            raise RecordingError(f"{path}:{number}: effects[{i}] should be an object", hint=_EFFECT_HINT)
        try:
            for key in ("service", "table"):
                if not _need(effect, key, str, where, path, number):
                    raise RecordingError(f"{path}:{number}: {where}{key} is empty")
            if _need(effect, "seq", int, where, path, number) < 1:
                raise RecordingError(f"{path}:{number}: {where}seq should be a number >= 1, found {effect['seq']}")
            _need(effect, "key", (str, int), where, path, number)
            if _need(effect, "op", str, where, path, number) not in _OPS:
                raise RecordingError(f"{path}:{number}: {where}op should be one of {', '.join(_OPS)}, found "
                                     f"{effect['op']!r}")
            for key in ("before", "after"):
                if effect.get(key) is not None and not isinstance(effect[key], dict):
                    raise RecordingError(f"{path}:{number}: {where}{key} should be an object (the row) or null, "
                                         f"found {json.dumps(effect[key])[:60]}")
        except RecordingError as exc:
            raise RecordingError(exc.message, hint=_EFFECT_HINT) from None
    return effects


def _timing(obj: dict[str, Any], path, number: int) -> dict[str, float]:
    timing = _optional(obj, "timing", dict, "", path, number, {})
    for key, value in timing.items():
        if not _number(value):
            raise RecordingError(f"{path}:{number}: timing.{key} should be a number >= 0, found "
                                 f"{json.dumps(value)[:60]}")
    return timing


def _body(obj: dict[str, Any], key: str, where: str, path, number: int) -> bytes:
    if key + "_b64" in obj:
        try:
            return base64.b64decode(obj[key + "_b64"], validate=True)
        except (ValueError, TypeError):
            raise RecordingError(f"{path}:{number}: {where}{key}_b64 is not valid base64") from None
    value = obj.get(key)
    if value is None:
        return b""
    if not isinstance(value, str):
        raise RecordingError(f"{path}:{number}: {where}{key} should be a string")
    return value.encode("utf-8")


def _headers(obj: dict[str, Any], where: str, path, number: int) -> list[tuple[str, str]]:
    raw = obj.get("headers", [])
    if not isinstance(raw, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in raw
    ):
        raise RecordingError(f"{path}:{number}: {where}headers should be a list of [name, value] pairs")
    return [(k, v) for k, v in raw]


def exchange_from_json(obj: dict[str, Any], path: Path | str = "<recording>", number: int = 0) -> Exchange:
    req = _need(obj, "request", dict, "", path, number)
    resp = _need(obj, "response", dict, "", path, number)
    port = req.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise RecordingError(f"{path}:{number}: request.port should be an integer or null")
    request = RecordedRequest(
        method=_need(req, "method", str, "request.", path, number).upper(),
        host=_need(req, "host", str, "request.", path, number),
        path=_need(req, "path", str, "request.", path, number),
        scheme=_optional(req, "scheme", str, "request.", path, number) or "https",
        port=port,
        query=_optional(req, "query", str, "request.", path, number, ""),
        http_version=_optional(req, "http_version", str, "request.", path, number) or "HTTP/1.1",
        headers=_headers(req, "request.", path, number),
        body=_body(req, "body", "request.", path, number),
    )
    events = None
    if "events" in resp:
        raw_events = _need(resp, "events", list, "response.", path, number)
        events = []
        for i, ev in enumerate(raw_events):
            if not isinstance(ev, dict):
                raise RecordingError(f"{path}:{number}: response.events[{i}] should be an object")
            delay = ev.get("delay_ms", 0)
            if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
                raise RecordingError(f"{path}:{number}: response.events[{i}].delay_ms should be a number >= 0")
            events.append(StreamEvent(_body(ev, "data", f"response.events[{i}].", path, number), float(delay)))
    status = _need(resp, "status", int, "response.", path, number)
    if not 100 <= status <= 599:
        raise RecordingError(f"{path}:{number}: response.status {status} is not an HTTP status")
    response = RecordedResponse(
        status=status,
        reason=_optional(resp, "reason", str, "response.", path, number, ""),
        http_version=_optional(resp, "http_version", str, "response.", path, number) or "HTTP/1.1",
        headers=_headers(resp, "response.", path, number),
        body=b"".join(e.data for e in events) if events is not None else _body(resp, "body", "response.", path, number),
        events=events,
    )
    seq = _optional(obj, "seq", int, "", path, number, 0)
    exchange = _optional(obj, "exchange", int, "", path, number)
    for key, value in (("seq", seq), ("exchange", exchange)):
        if value is not None and value < 0:
            raise RecordingError(f"{path}:{number}: {key} should be a number >= 0, found {value}")
    return Exchange(
        request=request,
        response=response,
        seq=seq,
        upstream=_optional(obj, "upstream", str, "", path, number) or "real",
        clock=_optional(obj, "clock", int, "", path, number),
        exchange=exchange,
        timing=_timing(obj, path, number),
        effects=_effects(obj, path, number),
        line=number,
    )
