"""Import mitmproxy flow files (`mitmdump -w flows`, the mitmproxy UI's "save") as recordings.

HTTP flows with a response become exchanges (bodies decoded, Content-Encoding then dropped, as
for HAR); flows without one (errors, killed) and non-HTTP flows are skipped and counted. A file
mitmproxy cannot read is an error naming the file and the flow number.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.clock import EPISODE_START
from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, Recording, RecordingError, new_header
from sandbox.recordings.redact import Redactor
from sandbox.recordings.stream import events_from_body, is_sse

_DROPPED = frozenset({"content-encoding", "content-length"})


def read_flows(path: Path | str, redactor: Redactor | None = None, name: str | None = None) -> tuple[Recording, int]:
    """A recording from the mitmproxy flow file at `path`, and how many flows were skipped."""
    from mitmproxy import exceptions, http, io

    path = Path(path)
    redactor = redactor or Redactor()
    exchanges, skipped = [], 0
    try:
        with open(path, "rb") as f:
            for flow in io.FlowReader(f).stream():
                if not isinstance(flow, http.HTTPFlow) or flow.response is None:
                    skipped += 1
                    continue
                exchanges.append(_exchange(flow, redactor))
    except FileNotFoundError:
        raise RecordingError(f"no mitmproxy flow file at {path}") from None
    except (exceptions.FlowReadException, ValueError, KeyError) as exc:
        raise RecordingError(f"{path}: flow {len(exchanges) + skipped + 1}: mitmproxy cannot read it ({exc})",
                             hint="is it a mitmproxy flow file (mitmdump -w)? HAR files: use a .har name") from None
    header = new_header(name=name or path.stem, episode=None, seed=None, task=None, task_spec=None,
                        clock_start=EPISODE_START, source=f"mitmproxy:{path.name}", redact=redactor.config(),
                        match={"sequence": "repeat_last"}, on_miss="error", original=None)
    return Recording(header, exchanges), skipped


def _exchange(flow, redactor: Redactor) -> Exchange:
    request, response = flow.request, flow.response
    path, _, query = request.path.partition("?")
    request_headers = list(request.headers.items(multi=True))
    request_body = request.get_content(strict=False) or b""
    request_type = request.headers.get("content-type")
    known = redactor.known_secrets(request_headers, query, request_body, request_type)
    content_type = response.headers.get("content-type")
    body = redactor.response_body(response.get_content(strict=False) or b"", content_type, known)
    events = events_from_body(body, True) if is_sse(content_type) and body else None
    headers = [(k, v) for k, v in response.headers.items(multi=True) if k.lower() not in _DROPPED]
    duration = ((response.timestamp_end or 0) - (request.timestamp_start or 0)) * 1000.0
    path, query, request_headers, request_body = redactor.request(path, query, request_headers, request_body,
                                                                  request_type, known)
    return Exchange(
        request=RecordedRequest(
            method=request.method, scheme=request.scheme, host=request.pretty_host, port=request.port, path=path,
            query=query, http_version=request.http_version, headers=request_headers, body=request_body),
        response=RecordedResponse(
            status=response.status_code, reason=response.reason, http_version=response.http_version,
            headers=redactor.response_headers(headers, known), body=b"" if events else body,
            events=events),
        upstream="imported",
        timing={"duration_ms": round(duration, 1)} if duration > 0 else {},
    )
