"""Bad input is the vendor's 4xx, never a 500: a fuzz-style battery over every route of every fake.

The agent under test is assumed hostile. For each registered fake this sends, to every route its
app's url_map holds (so a new route is covered without touching this file):
- 30-digit, 20-digit (just over SQLite's 64-bit integers), negative and Unicode-digit ids in every
  path argument, and NUL, `..`, very long and non-ASCII values in every string path argument;
- the same kinds of values in every pagination, filter and id parameter the vendor takes (query
  string, and form or JSON body where the vendor reads one), and cursors of the vendor's own format
  holding numbers SQLite cannot store;
- 50,000-deep JSON, invalid UTF-8, NUL bytes, numbers of 5,000 digits and ids over 2**63 in bodies;
- non-ASCII and malformed Basic, Bearer and token credentials;
and, over a real socket to the fake served by gunicorn as `sandbox up` serves it, bodies with bad
chunked framing and lying Content-Length headers.

Every answer must be below 500 and, when it is an error, in the vendor's own error shape. The
failures are collected and reported together (the count of 5xx must be 0), with the request that
caused each, so one run shows every crash at once.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.episodes.store import Episode, EpisodeStore
from sandbox.home import Home
from sandbox.run.supervisor import running_service
from sandbox.world import World, world
from services import ServiceSpec, get_service, service_ids

SEED = 7
BIG = 10**30
HUGE_IDS = ["9" * 30, "9223372036854775808", "-1", "-" + "9" * 30, "0", "²", "١٢"]
BAD_STRINGS = ["\x00", "a\x00b", "..", "../../etc/passwd", "x" * 300, "ü🙂", "%ff", " "]
BAD_VALUES = ["9" * 30, "-" + "9" * 30, "9223372036854775808", "-1", "0", "²", "1e999", "", "\x00", "9" * 5000]
DEEP_ARRAY = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "deep JSON array": (DEEP_ARRAY, "application/json; charset=utf-8"),
    "deep JSON object": (DEEP_OBJECT, "application/json; charset=utf-8"),
    "unclosed deep JSON": (b"[" * 50_000, "application/json; charset=utf-8"),
    "invalid UTF-8 JSON": (b'{"a": "\xff\xfe"}', "application/json; charset=utf-8"),
    "invalid UTF-8 form": (b"a=\xff\xfe&b=\xc3", "application/x-www-form-urlencoded"),
    "NUL bytes JSON": (b'{"a\x00": "\x00"}\x00', "application/json; charset=utf-8"),
    "NUL bytes form": (b"a=%00&%00=b", "application/x-www-form-urlencoded"),
    "5,000-digit number": (b"9" * 5000, "application/json; charset=utf-8"),
    "5,000-digit number in an object": (b'{"limit": ' + b"9" * 5000 + b"}", "application/json; charset=utf-8"),
    "NaN": (b'{"a": NaN, "b": Infinity}', "application/json; charset=utf-8"),
    "not an object": (b'"text"', "application/json; charset=utf-8"),
    "truncated": (b'{"a": ', "application/json; charset=utf-8"),
    "unknown charset": (b"{}", "application/json; charset=klingon"),
    "garbage multipart": (b"--x\r\nnot a part", "multipart/form-data; boundary=x"),
    "multipart without boundary": (b"a", "multipart/form-data"),
}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


BAD_CREDENTIALS = [
    "Basic éé",  # not base64, not even ASCII (the header arrives as latin-1)
    "Basic " + _b64("é/token:é".encode()),
    "Basic " + _b64(b"\xff\xfe/token:\xff"),
    "Basic " + _b64(b"nocolon"),
    "Basic " + _b64(b"a/token:"),
    "Basic !!!!",
    "Basic",
    "Basic ",
    "Basic " + "A" * 10_000,
    "Bearer",
    "Bearer ",
    "Bearer é",
    "Bearer " + "x" * 10_000,
    "Bearer a b c",
    "token é",
    "token",
    "é",
    "Digest username=\"a\"",
]

# The parameters each vendor reads, pagination, filters and ids, to fill with bad values.
PARAMS = {
    "payments": ["limit", "starting_after", "ending_before", "created", "created[gt]", "created[gte]",
                 "created[lt]", "created[lte]", "amount", "amount_captured", "customer", "email", "query",
                 "page", "expand[]", "charge", "payment_intent", "active", "type", "currency", "product",
                 "metadata[k]", "reason", "payment_method", "expand[²]", "metadata[²]", "expand[99999999]"],
    "helpdesk": ["page", "per_page", "page[size]", "page[after]", "page[before]", "ids", "external_ids",
                 "query", "sort_by", "sort_order", "sort", "role", "role[]", "include", "external_id", "email"],
    "chat": ["channel", "ts", "latest", "oldest", "limit", "cursor", "inclusive", "user", "email", "timestamp",
             "name", "thread_ts", "text", "types", "exclude_archived", "include_locale", "full", "count",
             "include_num_members", "blocks", "attachments", "reply_broadcast"],
    "code": ["page", "per_page", "state", "labels", "sort", "direction", "since", "assignee", "creator",
             "mentioned", "milestone", "type", "affiliation", "visibility", "filter"],
}


def cursors(service: str) -> list[str]:
    """Cursors in each vendor's own format that hold numbers SQLite cannot store."""
    b64, urlb64 = _b64, (lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="))
    if service == "helpdesk":
        return [urlb64(json.dumps({"o": order, "v": [v, v]}).encode())
                for order in ("id", "-id", "created_at", "updated_at") for v in (BIG, -BIG, "9" * 30, 1e308)] + [
            urlb64(b'{"o": "id", "v": [Infinity, NaN]}'), urlb64(DEEP_ARRAY[:20_000] + DEEP_ARRAY[-20_000:])]
    if service == "chat":
        return [b64(f"{kind}:{'9' * n}".encode()) for kind in ("next_ts", "team", "user_id") for n in (12, 30)] + [
            b64(f"next_ts:{'9' * 30}.{'9' * 30}".encode()), b64(b"{user_id: " + b"9" * 30 + b"}")]
    if service == "payments":
        return [urlb64(f"offset:{'9' * n}".encode()) for n in (19, 30)] + [urlb64(b"offset:-1")]
    return []


def search_queries(service: str) -> list[str]:
    if service == "helpdesk":
        return [f"{field}{op}{value}" for field in ("id", "requester", "assignee", "organization", "created",
                                                    "updated", "submitter", "requester_id", "organization_id")
                for op in (":", ">", "<") for value in ("9" * 30, "-" + "9" * 30, "²")]
    if service == "payments":
        return [f"{field}{op}{value}" for field in ("amount", "created", "metadata['k']", "email")
                for op in (":", ">", "<", ">=") for value in ("9" * 30, "-" + "9" * 30, '"9' + "9" * 30 + '"')]
    return []


def big_body(service: str, big: int) -> dict[str, Any]:
    """A body of the right shape for the vendor whose every id and number is `big`."""
    ids = {name: big for name in ("id", "requester_id", "assignee_id", "submitter_id", "organization_id",
                                  "group_id", "author_id", "milestone", "number", "limit", "ts", "latest",
                                  "oldest", "timestamp", "cursor", "thread_ts", "brand_id", "external_id")}
    if service == "helpdesk":
        comment = {"body": "x", "author_id": big, "public": big}
        return {"ticket": {**ids, "subject": "x", "comment": comment, "tags": [big], "collaborator_ids": [big]},
                "user": {**ids, "name": "x", "email": "a@example.com"}, "tags": [big], "ids": [big]}
    if service == "code":
        return {**ids, "title": "x", "body": "x", "labels": ["bug"], "assignees": ["x"], "name": "x",
                "color": "ffffff", "state": "closed", "assignee": big}
    return {**ids, "channel": big, "text": "x", "name": "thumbsup", "user": big, "email": big}


@dataclass
class Probe:
    """One malformed request: what it is, and how to send it."""

    label: str
    method: str
    path: str
    query: str | list[tuple[str, str]] | None = None
    data: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Target:
    spec: ServiceSpec
    app: Flask
    client: FlaskClient
    episode: Episode
    world: World

    @property
    def auth(self) -> dict[str, str]:
        assert self.spec.auth_headers is not None
        return self.spec.auth_headers(self.episode.api_keys[self.spec.id], self.world)


@dataclass
class Tally:
    sent: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(f.startswith("5") for f in self.failures)


TALLY: dict[str, Tally] = {}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    home = Home.resolve(tmp_path_factory.mktemp("bad-input-home"))
    store = EpisodeStore(home)
    store.prepare(SEED)
    store.close()
    yield home


@pytest.fixture(scope="module", params=service_ids())
def target(request: pytest.FixtureRequest, home: Home) -> Iterator[Target]:
    spec = get_service(request.param)
    app = spec.create_app({"home": home})
    store = EpisodeStore(home)
    try:
        yield Target(spec, app, app.test_client(), store.create(seed=SEED), world(SEED))
    finally:
        store.close()


def sample_args(service: str, w: World) -> dict[str, str]:
    """Values that name real things, so a bad value in one argument reaches the code behind the others."""
    if service == "code":
        repo = w.code.facts["triage"]["repo"]
        return {"owner": w.code.org, "org": w.code.org, "repo": repo, "login": f"{w.code.org}-agent", "name": "bug"}
    return {}


def routes(app: Flask) -> list[tuple[str, str, dict[str, str]]]:
    """(method, rule, {argument: converter}) for every route of the vendor's API, one per view."""
    seen, found = set(), []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/_sandbox/"):
            continue
        kinds = {name: type(conv).__name__ for name, conv in rule._converters.items()}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in seen:
                continue  # Zendesk's `.json` twin of a path: the same view
            seen.add((rule.endpoint, method))
            found.append((method, rule.rule, kinds))
    assert found, "the app serves no routes"
    return found


def build(rule: str, values: dict[str, str]) -> str:
    path = rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", value).replace(f"<path:{name}>", value).replace(f"<{name}>", value)
    return path


def shape(spec: ServiceSpec, status: int) -> set[str]:
    assert spec.vendor_error is not None
    return set(json.loads(spec.vendor_error(status, "x")[1]))


def check(target: Target, probe: Probe, status: int, content_type: str, body: bytes) -> str | None:
    """None when the answer is acceptable; otherwise a line naming the status and the request."""
    where = f"{status} {probe.method} {probe.path[:120]!r} [{probe.label}]"
    if status >= 500:
        return f"{where}: {body[:300]!r}"
    if status < 400 and not (target.spec.id == "chat" and status == 200):
        return None
    if "json" not in content_type:
        return None if probe.path.startswith("/agent") else f"{where}: not JSON ({content_type}): {body[:200]!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{where}: unparseable JSON: {body[:200]!r}"
    if isinstance(data, dict) and data.get("jsonrpc") == "2.0":  # an MCP endpoint: JSON-RPC's own error shape
        error = data.get("error")
        ok = "result" in data or (isinstance(error, dict) and {"code", "message"} <= set(error))
        return None if ok else f"{where}: not a JSON-RPC error: {body[:200]!r}"
    if target.spec.id == "chat":  # Slack: HTTP 200 with ok:false
        return None if isinstance(data, dict) and "ok" in data else f"{where}: no `ok`: {body[:200]!r}"
    expected = shape(target.spec, status)
    if not isinstance(data, dict) or len(set(data) & expected) < min(2, len(expected)):
        return f"{where}: not the vendor's error shape {sorted(expected)}: {body[:200]!r}"
    return None


def send(target: Target, probes: Iterator[Probe]) -> Tally:
    tally = TALLY.setdefault(target.spec.id, Tally())
    before = len(tally.failures)
    for probe in probes:
        headers = {**target.auth, **probe.headers}
        if "Authorization" in probe.headers and probe.headers["Authorization"] is None:
            headers.pop("Authorization")
        response = target.client.open(
            probe.path, method=probe.method, query_string=probe.query, data=probe.data,
            content_type=probe.content_type, headers=headers,
        )
        tally.sent += 1
        problem = check(target, probe, response.status_code, response.content_type or "", response.get_data())
        if problem:
            tally.failures.append(problem)
    new = tally.failures[before:]
    return Tally(tally.sent, new)


def report(service: str, tally: Tally) -> str:
    head = f"{service}: {len(tally.failures)} bad answers ({tally.server_errors} 5xx)"
    return "\n".join([head, *tally.failures[:40]])


# -- the batteries ------------------------------------------------------------------------------


def id_probes(target: Target) -> Iterator[Probe]:
    """Bad values in every path argument, the others naming real things."""
    base = sample_args(target.spec.id, target.world)
    for method, rule, kinds in routes(target.app):
        defaults = {name: base.get(name, "1") for name in kinds}
        for name, kind in kinds.items():
            values = HUGE_IDS if kind == "IntegerConverter" else HUGE_IDS + BAD_STRINGS
            for value in values:
                path = build(rule, {**defaults, name: quote(value, safe="")})
                yield Probe(f"{name}={value[:20]!r}", method, path, data=b"{}" if method != "GET" else None,
                            content_type="application/json" if method != "GET" and target.spec.id != "payments"
                            else None)


def param_probes(target: Target) -> Iterator[Probe]:
    """Bad values in every parameter the vendor reads: query string, and the body where it reads one."""
    service = target.spec.id
    base = sample_args(service, target.world)
    extra = cursors(service) + search_queries(service)
    for method, rule, kinds in routes(target.app):
        path = build(rule, {name: base.get(name, "1") for name in kinds})
        for name in PARAMS[service]:
            values = BAD_VALUES + (extra if name in ("cursor", "page", "page[after]", "page[before]", "query")
                                   else [])
            for value in values:
                label = f"{name}={value[:24]!r}"
                if method == "GET":
                    yield Probe(label, method, path, query=[(name, value)])
                elif service in ("payments", "chat"):  # both read form bodies
                    yield Probe(label + " (form)", method, path,
                                data=f"{quote(name)}={quote(value)}".encode(),
                                content_type="application/x-www-form-urlencoded")
                if service == "chat" and method == "POST":
                    yield Probe(label + " (JSON)", method, path, data=json.dumps({name: value}).encode(),
                                content_type="application/json; charset=utf-8")
        if method == "GET" and service == "helpdesk":  # comma lists of ids
            for value in ("1," + "9" * 30, "²", "1,,-1", ",".join(["9" * 30] * 100)):
                yield Probe(f"ids={value[:24]!r}", method, path, query=[("ids", value), ("external_ids", value)])


def body_probes(target: Target) -> Iterator[Probe]:
    """Malformed bodies, and bodies of the right shape whose ids SQLite cannot store."""
    base = sample_args(target.spec.id, target.world)
    for method, rule, kinds in routes(target.app):
        if method == "GET" and target.spec.id != "chat":
            continue
        path = build(rule, {name: base.get(name, "1") for name in kinds})
        for label, (data, content_type) in BAD_BODIES.items():
            yield Probe(label, method, path, data=data, content_type=content_type)
        if target.spec.id == "payments":
            continue  # form bodies: covered by param_probes
        for big in (BIG, -BIG, 2**63, 1.5e308):
            data = json.dumps(big_body(target.spec.id, big)).encode()  # type: ignore[arg-type]
            yield Probe(f"ids of {big:.3g}", method, path, data=data, content_type="application/json; charset=utf-8")
        # Deep enough to parse, then to be stored and rendered again (a recursive encoder's turn).
        deep = json.loads(b"[" * 400 + b"]" * 400)
        data = json.dumps({name: deep for name in big_body(target.spec.id, 1)}).encode()
        yield Probe("400-deep values", method, path, data=data, content_type="application/json; charset=utf-8")
        for name in ("blocks", "attachments", "comment", "body", "text"):
            data = json.dumps({"channel": "C1", "ts": "1.1", "text": "x", name: deep}).encode()
            yield Probe(f"400-deep {name}", method, path, data=data, content_type="application/json; charset=utf-8")


def credential_probes(target: Target) -> Iterator[Probe]:
    """Malformed credentials on every route (they are read before any route's own code)."""
    for method, rule, kinds in routes(target.app):
        path = build(rule, {**{name: "1" for name in kinds}, **sample_args(target.spec.id, target.world)})
        for credential in BAD_CREDENTIALS:
            yield Probe(f"Authorization: {credential[:24]!r}", method, path, headers={"Authorization": credential})
        if target.spec.id == "chat":  # Slack also takes the token as an argument
            for token in ("é", "\x00", "x" * 5000, "xoxb-\xff"):
                yield Probe(f"token={token[:10]!r}", method, path, query=[("token", token)],
                            headers={"Authorization": None})  # type: ignore[dict-item]


@pytest.mark.parametrize("battery", [id_probes, param_probes, body_probes, credential_probes],
                         ids=["ids", "params", "bodies", "credentials"])
def test_malformed_requests_get_the_vendors_4xx(target: Target, battery: Any) -> None:
    if battery is id_probes and not any(kinds for _, _, kinds in routes(target.app)):
        pytest.skip(f"no {target.spec.id} route takes a path argument (its ids are parameters: see params)")
    tally = send(target, battery(target))
    assert tally.sent > 0
    assert not tally.failures, report(target.spec.id, tally)


# -- bad framing over a real socket ---------------------------------------------------------------


def framing_probes(target: Target) -> list[tuple[str, bytes]]:
    """Raw requests whose body framing is broken, to a route that reads a body."""
    method, rule, kinds = next((m, r, k) for m, r, k in routes(target.app) if m in ("POST", "PUT", "PATCH"))
    path = build(rule, {**{name: "1" for name in kinds}, **sample_args(target.spec.id, target.world)})
    auth = "".join(f"{k}: {v}\r\n" for k, v in target.auth.items())
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\n"
    chunked = head + "Transfer-Encoding: chunked\r\n\r\n"
    return [
        ("chunk size not hex", (chunked + "zz\r\nabc\r\n0\r\n\r\n").encode()),
        ("chunk size huge", (chunked + "f" * 40 + "\r\nabc\r\n0\r\n\r\n").encode()),
        ("chunk longer than sent", (chunked + "ff\r\n{}").encode()),
        ("chunk without CRLF", (chunked + "2\r\n{}XX0\r\n\r\n").encode()),
        ("chunk size negative", (chunked + "-5\r\n{}\r\n0\r\n\r\n").encode()),
        ("no last chunk", (chunked + "2\r\n{}\r\n").encode()),
        ("Content-Length and chunked", (head + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        + "2\r\n{}\r\n0\r\n\r\n").encode()),
        ("Content-Length longer than sent", (head + "Content-Length: 100\r\n\r\n{}").encode()),
        ("Content-Length not a number", (head + "Content-Length: abc\r\n\r\n{}").encode()),
        ("Content-Length negative", (head + "Content-Length: -1\r\n\r\n{}").encode()),
        ("Content-Length huge", (head + f"Content-Length: {'9' * 30}\r\n\r\n{{}}").encode()),
    ]


def exchange(port: int, raw: bytes) -> bytes:
    """Send `raw`, half-close, and read the answer until the server closes (b"" if it just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # the body the headers promise never comes
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_bad_body_framing_gets_a_4xx_from_the_served_fake(target: Target, home: Home) -> None:
    tally = TALLY.setdefault(target.spec.id, Tally())
    failures = []
    with running_service(home, target.spec.id, workers=1, threads=2) as port:
        for label, raw in framing_probes(target):
            answer = exchange(port, raw)
            tally.sent += 1
            if not answer:
                continue  # the server hung up on a request it could not frame: no 500, no traceback
            status_line, _, rest = answer.partition(b"\r\n")
            status = int(status_line.split()[1])
            headers, _, body = rest.partition(b"\r\n\r\n")
            content_type = next((line.split(b":", 1)[1].decode().strip() for line in headers.split(b"\r\n")
                                 if line.lower().startswith(b"content-type:")), "")
            probe = Probe(label, raw.split(b" ")[0].decode(), raw.split(b" ")[1].decode())
            if status >= 500 or (b"Traceback" in body):
                failures.append(f"{status} [{label}]: {body[:300]!r}")
            elif status >= 400 and "json" in content_type:
                problem = check(target, probe, status, content_type, body.split(b"\r\n0\r\n")[0])
                if problem:
                    failures.append(problem)
    tally.failures += failures
    assert not failures, "\n".join(failures)


def test_summary() -> None:
    """Runs last in the module: how many malformed requests were sent, and how many got a 5xx."""
    for service, tally in sorted(TALLY.items()):
        print(f"{service}: {tally.sent} malformed requests, {tally.server_errors} answered 5xx,"
              f" {len(tally.failures)} bad answers")
