"""Which recorded exchange answers a request, and why none does.

A request matches a recorded one on method, host (with its port when not the scheme's default),
path, query and body, after both are normalised the same way:
- secrets are redacted first (the recording holds `REDACTED`; the replaying agent sends its own
  key), and headers are never compared (the sandbox's own headers and per-episode API keys differ
  between runs);
- the query and form bodies are compared as sorted pairs, JSON bodies as canonical JSON (key
  order and spacing do not matter);
- a JSON-RPC request (MCP) is matched without its `id` and `params._meta`, which differ between
  runs of one client; the replayed answer carries the live request's id (sandbox/proxy/replay.py);
- volatile fields are dropped: JSON paths (`$.metadata.request_id`, `$..timestamp`,
  `$.messages[*].id`; a bare name means anywhere), query/form names, and string values that
  fully match a pattern.

Repeated identical requests get the recorded answers in recorded order; after the last one, the
sequence policy decides: `repeat_last` (default) keeps answering with the last, `in_order` makes
the extra call a miss. Rules in the recording header choose policy and volatile fields per route
(method, host, path glob). The cursor that counts calls is per replaying episode.

A miss explains itself: the closest recorded requests, each with what differed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.recordings.format import Exchange, RecordedRequest, Recording, RecordingError
from sandbox.recordings.redact import Redactor
from services.common import mcp_wire

SEQUENCES = ("repeat_last", "in_order")
DEFAULT_IGNORE = ("$..request_id", "$..requestId", "$..idempotency_key", "$..idempotencyKey", "$..nonce")
DEFAULT_IGNORE_QUERY = ("_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_IGNORED = "<ignored>"
_PATH_TOKEN = re.compile(r"\.\.([^.\[]+)|\.([^.\[]+)|\[(\*|\d+)\]|\[['\"]([^'\"]+)['\"]\]")


@dataclass(frozen=True)
class Rule:
    """How requests of one route are matched. An empty selector field matches anything."""

    method: str = ""
    host: str = ""
    path: str = ""
    sequence: str = "repeat_last"
    ignore: tuple[tuple, ...] = ()  # parsed JSON paths
    ignore_query: frozenset[str] = frozenset()
    ignore_patterns: tuple[re.Pattern, ...] = ()

    def selects(self, method: str, host: str, path: str) -> bool:
        return ((not self.method or self.method == method) and (not self.host or fnmatch.fnmatchcase(host, self.host))
                and (not self.path or fnmatch.fnmatchcase(path, self.path)))


@dataclass
class MatchConfig:
    default: Rule
    rules: tuple[Rule, ...] = ()

    @classmethod
    def from_header(cls, config: dict[str, Any] | None, where: str = "recording header") -> MatchConfig:
        config = config or {}
        if not isinstance(config, dict):
            raise RecordingError(f"{where}: match should be an object")
        default = _rule(config, Rule(), where, DEFAULT_IGNORE, DEFAULT_IGNORE_QUERY)
        rules = []
        for i, raw in enumerate(config.get("rules") or []):
            if not isinstance(raw, dict):
                raise RecordingError(f"{where}: match.rules[{i}] should be an object")
            rules.append(_rule(raw, default, f"{where}: match.rules[{i}]"))
        return cls(default, tuple(rules))

    def rule_for(self, method: str, host: str, path: str) -> Rule:
        return next((r for r in self.rules if r.selects(method, host, path)), self.default)


def _rule(raw: dict[str, Any], base: Rule, where: str, ignore=(), ignore_query=()) -> Rule:
    sequence = raw.get("sequence", base.sequence)
    if sequence not in SEQUENCES:
        raise RecordingError(f"{where}: sequence {sequence!r} is not one of {', '.join(SEQUENCES)}")
    try:
        patterns = tuple(re.compile(p) for p in raw.get("ignore_patterns", ()))
    except re.error as exc:
        raise RecordingError(f"{where}: ignore_patterns: {exc}") from None
    return Rule(
        method=str(raw.get("method", "")).upper(),
        host=str(raw.get("host", "")).lower(),
        path=str(raw.get("path", "")),
        sequence=sequence,
        ignore=base.ignore + tuple(parse_json_path(p, where) for p in (*ignore, *raw.get("ignore", ()))),
        ignore_query=base.ignore_query | frozenset(ignore_query) | frozenset(raw.get("ignore_query", ())),
        ignore_patterns=base.ignore_patterns + patterns,
    )


def parse_json_path(path: str, where: str = "") -> tuple:
    """`$.a[*].b` -> (("key","a"), ("any",), ("key","b")); a bare `name` means `$..name`."""
    text = path.strip()
    if not text.startswith("$"):
        text = "$.." + text
    tokens, pos = [], 1
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m:
            raise RecordingError(f"{where}: cannot parse JSON path {path!r} at {text[pos:]!r}",
                                 hint="write $.field.sub, $.list[*].id, $..anywhere or a bare field name")
        descend, key, index, quoted = m.groups()
        if descend:
            tokens.append(("descend", descend))
        elif key is not None or quoted is not None:
            name = key if key is not None else quoted
            tokens.append(("any",) if name == "*" else ("key", name))
        else:
            tokens.append(("any",) if index == "*" else ("index", int(index)))
        pos = m.end()
    return tuple(tokens)


def _drop(doc: Any, tokens: tuple) -> None:
    """Remove what `tokens` points at from `doc`, in place."""
    if not tokens:
        return
    kind, rest = tokens[0], tokens[1:]
    if kind[0] == "descend":
        name = kind[1]
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if name in node:
                    if rest:
                        _drop(node[name], rest)
                    else:
                        del node[name]
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return
    if kind[0] == "key":
        children = [(doc, kind[1])] if isinstance(doc, dict) and kind[1] in doc else []
    elif kind[0] == "index":
        children = [(doc, kind[1])] if isinstance(doc, list) and kind[1] < len(doc) else []
    else:
        children = list(doc.items()) if isinstance(doc, dict) else list(enumerate(doc)) if isinstance(doc, list) else []
        children = [(doc, k) for k, _ in children]
    for parent, k in reversed(children):
        if rest:
            _drop(parent[k], rest)
        elif isinstance(parent, dict):
            del parent[k]
        else:
            parent[k] = _IGNORED  # keep list positions


def _mask(doc: Any, patterns: tuple[re.Pattern, ...]) -> Any:
    if isinstance(doc, dict):
        return {k: _mask(v, patterns) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_mask(v, patterns) for v in doc]
    if isinstance(doc, str) and any(p.fullmatch(doc) for p in patterns):
        return _IGNORED
    return doc


# -- normal forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    """What matching looks at, taken from a live request or a recorded one (already redacted)."""

    method: str
    host: str  # host, or host:port when the port is not the scheme's default
    path: str
    query: str
    body: bytes
    content_type: str

    @classmethod
    def of(cls, method: str, scheme: str, host: str, port: int | None, path: str, query: str, body: bytes,
           content_type: str | None) -> RequestView:
        host = host.lower().rstrip(".")
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        return cls(method.upper(), host, path, query, body or b"", (content_type or "").split(";")[0].strip().lower())

    @classmethod
    def recorded(cls, req: RecordedRequest) -> RequestView:
        return cls.of(req.method, req.scheme, req.host, req.port, req.path, req.query, req.body,
                      req.header("content-type"))

    def redacted(self, redactor: Redactor, known: frozenset[str] = frozenset()) -> RequestView:
        """Redacted as a recording redacts a request (`known`: the secrets the request carries)."""
        path, query, _, body = redactor.request(self.path, self.query, (), self.body, self.content_type, known)
        return RequestView(self.method, self.host, path, query, body, self.content_type)

    def describe(self) -> str:
        return f"{self.method} {self.host}{self.path}" + (f"?{self.query}" if self.query else "")


def _query_form(query: str, rule: Rule) -> tuple[tuple[str, str], ...]:
    pairs = parse_qsl(query, keep_blank_values=True)
    return tuple(sorted((k, _IGNORED if _masked(v, rule) else v) for k, v in pairs if k not in rule.ignore_query))


def _masked(value: str, rule: Rule) -> bool:
    return any(p.fullmatch(value) for p in rule.ignore_patterns)


def body_form(view: RequestView, rule: Rule) -> tuple[str, Any]:
    """("json", doc) | ("form", pairs) | ("raw", bytes) | ("empty", None), volatile parts removed."""
    body = view.body
    if not body:
        return "empty", None
    kind = view.content_type
    if kind.endswith("json") or (not kind and body.lstrip()[:1] in (b"{", b"[")):
        try:
            doc = json.loads(body)
        except ValueError:
            return "raw", body
        doc = mcp_wire.without_volatile(doc)  # an MCP request matches on method and arguments, not its id
        for path in rule.ignore:
            _drop(doc, path)
        return "json", _mask(doc, rule.ignore_patterns) if rule.ignore_patterns else doc
    if kind == "application/x-www-form-urlencoded":
        try:
            return "form", _query_form(body.decode("utf-8"), rule)
        except UnicodeDecodeError:
            return "raw", body
    return "raw", body


def match_key(view: RequestView, rule: Rule) -> tuple:
    kind, value = body_form(view, rule)
    if kind == "json":
        canon = "json:" + json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif kind == "form":
        canon = "form:" + urlencode(value)
    elif kind == "raw":
        canon = "raw:" + hashlib.sha256(value).hexdigest()
    else:
        canon = ""
    return (view.method, view.host, view.path, _query_form(view.query, rule), canon)


# -- the index and its cursors --------------------------------------------------------------------


@dataclass
class Miss:
    request: RequestView
    reason: str
    closest: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.describe(), "reason": self.reason, "closest": self.closest}

    def render(self) -> str:
        lines = [f"no recorded answer for {self.request.describe()}: {self.reason}"]
        for c in self.closest:
            lines.append(f"  closest: #{c['seq']} {c['request']} (line {c['line']}): " + "; ".join(c["differences"]))
        return "\n".join(lines)


@dataclass
class Cursor:
    """How many times each request key was answered, for one replaying episode."""

    calls: dict[tuple, int] = field(default_factory=dict)


class Index:
    """A recording, indexed for replay: one dict lookup per request."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        where = f"{recording.path or recording.name}:1"
        self.config = MatchConfig.from_header(recording.header.get("match"), where)
        self.redactor = Redactor.from_config(recording.header.get("redact"))
        self.by_key: dict[tuple, list[Exchange]] = {}
        self.hosts: set[str] = set()
        self._views: list[tuple[RequestView, Exchange]] = []
        for ex in recording.exchanges:
            view = RequestView.recorded(ex.request)
            rule = self.config.rule_for(view.method, view.host, view.path)
            self.by_key.setdefault(match_key(view, rule), []).append(ex)
            self.hosts.add(ex.request.host.lower())
            self._views.append((view, ex))

    def lookup(self, view: RequestView, cursor: Cursor, known: frozenset[str] = frozenset()) -> Exchange | Miss:
        """The answer for `view` (a live request, not yet redacted, carrying the secrets `known`),
        advancing `cursor`."""
        view = view.redacted(self.redactor, known)
        rule = self.config.rule_for(view.method, view.host, view.path)
        key = match_key(view, rule)
        answers = self.by_key.get(key)
        if answers:
            n = cursor.calls.get(key, 0)
            if n < len(answers) or rule.sequence == "repeat_last":
                cursor.calls[key] = n + 1
                return answers[min(n, len(answers) - 1)]
            return Miss(view, f"recorded {len(answers)} time(s), this is call {n + 1}, and the route's sequence "
                              "policy is in_order", [self._describe(answers[-1], ["all recorded answers used"])])
        return Miss(view, "no recorded request has the same method, host, path, query and body",
                    self.closest(view, rule))

    def closest(self, view: RequestView, rule: Rule, limit: int = 3) -> list[dict[str, Any]]:
        scored = []
        for recorded, ex in self._views:
            differences, distance = _differences(view, recorded, rule)
            scored.append((distance, ex.seq, differences, ex))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [self._describe(ex, diffs) for _, _, diffs, ex in scored[:limit]]

    @staticmethod
    def _describe(ex: Exchange, differences: list[str]) -> dict[str, Any]:
        view = RequestView.recorded(ex.request)
        return {"seq": ex.seq, "line": ex.line, "request": view.describe(), "differences": differences}


def _differences(live: RequestView, recorded: RequestView, rule: Rule) -> tuple[list[str], float]:
    out: list[str] = []
    distance = 0.0
    if live.method != recorded.method:
        out.append(f"method {live.method} != recorded {recorded.method}")
        distance += 4
    if live.host != recorded.host:
        out.append(f"host {live.host} != recorded {recorded.host}")
        distance += 4
    if live.path != recorded.path:
        out.append(f"path {live.path} != recorded {recorded.path}")
        distance += 2 + _dissimilarity(live.path, recorded.path)
    if distance >= 8:
        return out, distance + 10  # another endpoint altogether: no need to compare the rest
    q_live, q_rec = dict(_query_form(live.query, rule)), dict(_query_form(recorded.query, rule))
    for name in sorted(set(q_live) | set(q_rec)):
        if q_live.get(name) != q_rec.get(name):
            out.append(f"query {name}: {_show(q_live.get(name))} != recorded {_show(q_rec.get(name))}")
            distance += 1
    kind_live, body_live = body_form(live, rule)
    kind_rec, body_rec = body_form(recorded, rule)
    if kind_live != kind_rec:
        out.append(f"body is {kind_live}, recorded body is {kind_rec}")
        distance += 2
    elif kind_live == "json":
        diffs = list(_json_diff(body_live, body_rec, "$"))
        out += [f"body {d}" for d in diffs[:5]] + ([f"... {len(diffs) - 5} more"] if len(diffs) > 5 else [])
        distance += len(diffs)
    elif kind_live == "form":
        f_live, f_rec = dict(body_live), dict(body_rec)
        for name in sorted(set(f_live) | set(f_rec)):
            if f_live.get(name) != f_rec.get(name):
                out.append(f"form {name}: {_show(f_live.get(name))} != recorded {_show(f_rec.get(name))}")
                distance += 1
    elif kind_live == "raw" and body_live != body_rec:
        out.append(f"body differs ({len(body_live)} bytes, recorded {len(body_rec)} bytes)")
        distance += 1
    return out or ["identical (the answers were used up)"], distance


def _json_diff(a: Any, b: Any, where: str) -> Iterable[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                yield f"{where}.{k} missing (recorded {_show(b[k])})"
            elif k not in b:
                yield f"{where}.{k} = {_show(a[k])} not in the recording"
            else:
                yield from _json_diff(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _json_diff(x, y, f"{where}[{i}]")
    elif a != b:
        yield f"{where}: {_show(a)} != recorded {_show(b)}"


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dissimilarity(a: str, b: str) -> float:
    import difflib

    return 1.0 - difflib.SequenceMatcher(None, a, b).ratio()
