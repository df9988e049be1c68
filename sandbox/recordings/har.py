"""HAR 1.2 in and out: browsers (Chrome, Firefox), mitmproxy, Charles and Insomnia export it.

Import keeps every entry that has a response (browsers log blocked or cancelled requests with
status 0: those are skipped and counted). HAR bodies are decoded text (or base64 with
`encoding: base64`), so Content-Encoding and Content-Length are dropped from the imported headers:
the replayed body is the decoded one, framed again by the proxy. HTTP/2 pseudo-headers (`:path`)
are dropped. Everything is redacted like a recording. A required field that is missing is an
error naming the file and the entry: `log.entries[3].request.url is missing`.

Export writes any recording as HAR 1.2, one entry per exchange, streams as their concatenated body.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.clock import EPISODE_START
from sandbox.recordings.format import (
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Recording,
    RecordingError,
    new_header,
)
from sandbox.recordings.redact import Redactor
from sandbox.recordings.stream import events_from_body, is_sse

_DROPPED = frozenset({"content-encoding", "content-length"})


def read_har(path: Path | str, redactor: Redactor | None = None, name: str | None = None) -> tuple[Recording, int]:
    """A recording from the HAR file at `path`, and how many entries were skipped (no response)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordingError(f"no HAR file at {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f":{exc.lineno}:{exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RecordingError(f"{path}{where}: not a HAR file (not JSON: {exc})",
                             hint="export the HAR again; the file may be truncated") from None
    log = _field(doc, "log", dict, path, "")
    entries = _field(log, "entries", list, path, "log.")
    redactor = redactor or Redactor()
    exchanges, skipped = [], 0
    for i, entry in enumerate(entries):
        where = f"log.entries[{i}]."
        if not isinstance(entry, dict):
            raise RecordingError(f"{path}: log.entries[{i}] should be an object")
        exchange = _exchange(entry, path, where, redactor)
        if exchange is None:
            skipped += 1
        else:
            exchanges.append(exchange)
    creator = log.get("creator") if isinstance(log.get("creator"), dict) else {}
    header = new_header(name=name or path.stem, episode=None, seed=None, task=None, task_spec=None,
                        clock_start=EPISODE_START, source=f"har:{path.name}",
                        creator=f"{creator.get('name', '?')} {creator.get('version', '')}".strip(),
                        redact=redactor.config(), match={"sequence": "repeat_last"}, on_miss="error", original=None)
    return Recording(header, exchanges), skipped


def _field(obj: dict, key: str, kind: type, path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise RecordingError(f"{path}: {where}{key} is missing", hint="HAR 1.2 needs it; export the HAR again")
    if not isinstance(obj[key], kind) or isinstance(obj[key], bool):
        raise RecordingError(f"{path}: {where}{key} should be {kind.__name__}, found {json.dumps(obj[key])[:60]}")
    return obj[key]


def _pairs(items: Any, path: Path, where: str) -> list[tuple[str, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise RecordingError(f"{path}: {where} should be a list of {{name, value}}")
    out = []
    for j, item in enumerate(items):
        if not isinstance(item, dict) or "name" not in item:
            raise RecordingError(f"{path}: {where}[{j}].name is missing")
        out.append((str(item["name"]), str(item.get("value", ""))))
    return out


def _exchange(entry: dict, path: Path, where: str, redactor: Redactor) -> Exchange | None:
    req = _field(entry, "request", dict, path, where)
    resp = _field(entry, "response", dict, path, where)
    method = _field(req, "method", str, path, where + "request.")
    url = _field(req, "url", str, path, where + "request.")
    status = _field(resp, "status", int, path, where + "response.")
    if status == 0:
        return None  # the browser never got a response (blocked, cancelled)
    if not 100 <= status <= 599:
        raise RecordingError(f"{path}: {where}response.status {status} is not an HTTP status")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise RecordingError(f"{path}: {where}request.url {url!r} is not an absolute URL")
    req_headers = [(k, v) for k, v in _pairs(req.get("headers"), path, where + "request.headers")
                   if not k.startswith(":")]
    post = req.get("postData") if isinstance(req.get("postData"), dict) else {}
    body = (post.get("text") or "").encode("utf-8")
    if not body and post.get("params"):  # a form given as params only (Firefox, Insomnia)
        from urllib.parse import urlencode

        body = urlencode(_pairs(post["params"], path, where + "request.postData.params")).encode()
    content_type = post.get("mimeType") or next((v for k, v in req_headers if k.lower() == "content-type"), None)
    content = resp.get("content") if isinstance(resp.get("content"), dict) else {}
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        try:
            resp_body = base64.b64decode(text, validate=False)
        except ValueError:
            raise RecordingError(f"{path}: {where}response.content.text is not valid base64") from None
    else:
        resp_body = text.encode("utf-8")
    resp_headers = [(k, v) for k, v in _pairs(resp.get("headers"), path, where + "response.headers")
                    if not k.startswith(":") and k.lower() not in _DROPPED]
    resp_type = content.get("mimeType") or next((v for k, v in resp_headers if k.lower() == "content-type"), None)
    known = redactor.known_secrets(req_headers, parts.query, body, content_type)
    resp_body = redactor.response_body(resp_body, resp_type, known)
    events = events_from_body(resp_body, True) if is_sse(resp_type) and resp_body else None
    http_version = str(resp.get("httpVersion") or req.get("httpVersion") or "HTTP/1.1")
    url_path, query, req_headers, body = redactor.request(parts.path or "/", parts.query, req_headers, body,
                                                          content_type, known)
    return Exchange(
        request=RecordedRequest(
            method=method.upper(), scheme=parts.scheme, host=parts.hostname, port=parts.port, path=url_path,
            query=query, http_version=_version(req.get("httpVersion")), headers=req_headers, body=body),
        response=RecordedResponse(
            status=status, reason=str(resp.get("statusText") or ""), http_version=_version(http_version),
            headers=redactor.response_headers(resp_headers, known), body=b"" if events else resp_body,
            events=events),
        upstream="imported",
        timing={"duration_ms": float(entry["time"])} if isinstance(entry.get("time"), int | float) else {},
    )


def _version(value: Any) -> str:
    text = str(value or "HTTP/1.1").upper()
    return {"H2": "HTTP/2.0", "HTTP/2": "HTTP/2.0", "H3": "HTTP/3", "": "HTTP/1.1"}.get(text, text)


# -- export ---------------------------------------------------------------------------------------


def to_har(recording: Recording) -> dict[str, Any]:
    entries = []
    start = recording.header.get("clock_start") or EPISODE_START
    for ex in recording.exchanges:
        req, resp = ex.request, ex.response
        when = ex.clock if ex.clock is not None else start + ex.seq
        content_type = resp.header("content-type") or ""
        entry = {
            "startedDateTime": datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z"),
            "time": ex.timing.get("duration_ms", 0),
            "request": {
                "method": req.method, "url": req.url, "httpVersion": req.http_version,
                "headers": [{"name": k, "value": v} for k, v in req.headers],
                "queryString": [{"name": k, "value": v} for k, v in _query(req.query)],
                "cookies": [], "headersSize": -1, "bodySize": len(req.body),
            },
            "response": {
                "status": resp.status, "statusText": resp.reason, "httpVersion": resp.http_version,
                "headers": [{"name": k, "value": v} for k, v in resp.headers],
                "cookies": [], "content": {"size": len(resp.body), "mimeType": content_type, **_text(resp.body)},
                "redirectURL": resp.header("location") or "", "headersSize": -1, "bodySize": len(resp.body),
            },
            "cache": {},
            "timings": {"send": 0, "wait": ex.timing.get("duration_ms", 0), "receive": 0},
            "comment": f"agent-sandbox {recording.name} #{ex.seq} ({ex.upstream})",
        }
        if req.body:
            entry["request"]["postData"] = {"mimeType": req.header("content-type") or "", **_text(req.body)}
        entries.append(entry)
    return {"log": {"version": "1.2", "creator": {"name": "agent-sandbox", "version": "0.1.0"}, "entries": entries}}


def _text(body: bytes) -> dict[str, str]:
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _query(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def write_har(recording: Recording, path: Path | str) -> Path:
    from sandbox.recordings.store import write_atomic

    return write_atomic(Path(path), [json.dumps(to_har(recording), indent=2, ensure_ascii=False) + "\n"])
