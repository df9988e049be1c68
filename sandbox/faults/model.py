"""Fault profiles: the YAML format, its validation, and the parsed model.

    name: flaky-stripe
    seed: 1
    description: Stripe is slow and sometimes throttles.
    rules:                          # in order; see "Which rules act" below
      - name: slow-reads
        match: {host: api.stripe.com, method: GET, path: "/v1/*", probability: 0.3}
        action: {kind: latency, lognormal: {median_ms: 80, sigma: 0.8, cap_ms: 1500}}
      - name: throttle-the-third-refund
        match: {method: POST, path: /v1/refunds, nth: 3}
        action: {kind: rate_limit, retry_after: 1}

A rule's `match` (every field optional; all given must hold):

    host         glob(s) on the request host, `*.zendesk.com`
    method       method(s), any case
    path         glob(s) on the path without the query; `*` crosses `/`
    service      id(s) of the fake that answers (payments, helpdesk, chat, code)
    nth          the n-th matching call(s) of the episode, 1-based: `3` or `[1, 4]`
    every        every k-th matching call (k, 2k, 3k, ...)
    probability  chance the rule fires on a matching call, drawn from the seeds (0..1)
    after_s      only from this many seconds of episode time on (the clock advances 1 s per exchange)
    times        fire at most this many times per episode
    mcp_tool     glob(s) on the tool an MCP `tools/call` names (`create_refund`, `slack_*`); a rule
                 with it matches MCP tool calls only
    via          whose calls: `agent` (the default: the agent's requests) or `webhook` (the deliveries a fake
                 makes to an endpoint the agent registered; host and path are then the endpoint's URL)

"Matching call" means a request that satisfies the host/method/path/service fields; the counter
behind nth/every counts those, per episode and per rule. A rule fires on a matching call when
nth, every, after_s, probability and times all agree.

The action kinds and their fields are in `ACTIONS` below (and in library/README.md).

Which rules act: every rule is checked in order and its counter advances; each rule that fires
acts, except that once one rule has answered or cut the call (error, rate_limit, reset, hang,
busy, maintenance, expire_session, session_expired, ghost_write), later rules do not act on that call.

Determinism: whether a rule fires and every value it draws (a latency, which field...) depend only
on the profile's seed, the episode's fault seed (its world seed unless the episode was given another:
a sweep with `--fault-draws per-trial` gives each trial its own), the rule's index and the rule's
match counter, and the episode clock, never on wall time: the same agent meets the same faults at
the same calls.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ConfigError


class FaultProfileError(ConfigError):
    """A fault profile that is missing, malformed or inconsistent; the message names the file, the
    rule and the field."""


MATCH_KEYS = ("host", "method", "path", "service", "nth", "every", "probability", "after_s", "times", "mcp_tool",
              "via")
VIA = ("agent", "webhook")
TOP_KEYS = ("name", "seed", "description", "rules")
RULE_KEYS = ("name", "match", "action", "description")

# Actions that answer the call themselves or cut it: after one of them, later rules do not act.
TERMINAL = frozenset({"error", "rate_limit", "reset", "hang", "busy", "maintenance", "expire_session", "ghost_write",
                      "mcp_tool_error", "mcp_timeout", "session_expired"})

# kind -> {field: (checker name, default)}; a default of REQUIRED means the field must be given.
REQUIRED = object()
ACTIONS: dict[str, dict[str, tuple[str, Any]]] = {
    # Wait before the request goes on: exactly one of ms, uniform_ms, lognormal.
    "latency": {"ms": ("ms", None), "uniform_ms": ("range_ms", None), "lognormal": ("lognormal", None)},
    # The response body arrives `chunk_bytes` at a time, `interval_ms` apart.
    "dribble": {"chunk_bytes": ("positive_int", 64), "interval_ms": ("ms", 100)},
    # An HTTP error in the vendor's own error shape (Stripe's error object, Slack's ok:false...).
    "error": {"status": ("error_status", 500), "message": ("text", None)},
    # 429 (GitHub: 403, as it throttles) with Retry-After and the vendor's rate-limit headers.
    "rate_limit": {"retry_after": ("seconds", 1), "message": ("text", None)},
    # The connection is closed before the request goes upstream; the client gets no answer.
    "reset": {},
    # Nothing comes back until the client gives up (or max_s passes; then the connection is closed).
    "hang": {"max_s": ("seconds", 30)},
    # The body is cut to `fraction` of its length while Content-Length still promises all of it.
    "truncate": {"fraction": ("fraction", 0.5)},
    # The JSON body is broken (cut inside a token, a stray brace): a parser must fail on it.
    "malformed_json": {},
    # Schema drift in JSON responses; see sandbox/faults/drift.py for the operations.
    "drift": {"ops": ("drift_ops", REQUIRED)},
    # The session expires: 401 in the vendor's shape; `until: retry` lets the next call through,
    # `until: reauth` refuses every matching call until a non-GET call goes to `reauth_path`
    # (a sign-in form post, a token request); browsers asking for a page are sent there (303).
    "expire_session": {"until": ("until", "retry"), "reauth_path": ("text", None), "message": ("text", None)},
    # The resource is busy: 409 (or 423), in the vendor's shape.
    "busy": {"status": ("busy_status", 409), "retry_after": ("seconds", None), "message": ("text", None)},
    # Down for maintenance: 503 with Retry-After; an HTML page for browsers, the vendor's error for APIs.
    "maintenance": {"retry_after": ("seconds", 30), "message": ("text", None)},
    # The upstream applies the write, the agent gets a 5xx (status) or a dropped connection (drop: true).
    "ghost_write": {"status": ("error_status", 500), "drop": ("boolean", False), "message": ("text", None)},
    # UI nuisance for HTML responses; see sandbox/faults/html.py for the operations.
    "html": {"ops": ("html_ops", REQUIRED)},
    # A list page's size changes: the request's per_page is set to this before the fake sees it (a
    # browser agent that follows the pager is unaffected; one that computes offsets skips rows).
    "page_size": {"per_page": ("per_page", REQUIRED)},
    # The web session expires mid-form: the form post is answered 303 to the service's sign-in page
    # (ServiceSpec.web_login) with ?next=<the form's page> and the session cookies expired; the fake
    # never sees the post, so nothing is written.
    "session_expired": {},
    # An MCP tool call answered as a tool that ran and failed: a 200 result with `isError: true` and
    # the message (the model reads it). On a call that is not an MCP tools/call it does nothing.
    "mcp_tool_error": {"message": ("text", None)},
    # An MCP request answered, after `ms`, with the JSON-RPC error a timed-out request gets (-32001,
    # as the SDKs report it); the service never saw it. For a client's own timeout, use hang.
    "mcp_timeout": {"ms": ("ms", 0), "message": ("text", None)},
    # Webhooks only (via: webhook): the delivery is sent `copies` more times, as vendors do (at least once).
    "duplicate": {"copies": ("positive_int", 1)},
    # Webhooks only: the delivery is held back and sent after the next one to the same endpoint (out of order).
    "reorder": {},
}
# What can act on a webhook delivery: a delay, a duplicate, an out-of-order send, or a dropped connection
# (the sender sees no answer and retries). The rest answer or reshape an agent's request.
WEBHOOK_KINDS = frozenset({"latency", "duplicate", "reorder", "reset"})
WEBHOOK_ONLY_KINDS = frozenset({"duplicate", "reorder"})

DRIFT_OPS = ("rename", "hide", "add", "retype", "page_size", "reorder")
HTML_OPS = ("rename", "hide", "move", "interstitial", "confirm", "cookie_banner", "slow_list", "move_after_load")
MAX_PER_PAGE = 100  # the web contract's bound on ?per_page
RETYPES = ("string", "number", "integer", "boolean", "null", "list", "object")


@dataclass(frozen=True)
class Match:
    hosts: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    nth: tuple[int, ...] = ()
    every: int | None = None
    probability: float | None = None
    after_s: float | None = None
    times: int | None = None
    mcp_tools: tuple[str, ...] = ()
    via: str = "agent"
    # Compiled once: the hot path is one regex per non-empty field.
    host_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    path_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    mcp_tool_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Action:
    kind: str
    params: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL


@dataclass(frozen=True)
class Rule:
    index: int
    name: str
    match: Match
    action: Action


@dataclass(frozen=True)
class Profile:
    name: str
    seed: int
    rules: tuple[Rule, ...]
    source: str
    description: str = ""

    @functools.cached_property
    def needs_relay(self) -> bool:
        """Does any rule dribble? (Only then does the proxy route the episode's calls via its relay.)"""
        return any(rule.action.kind == "dribble" for rule in self.rules)

    @functools.cached_property
    def reads_mcp(self) -> bool:
        """Does any rule look at MCP calls? (Only then are request bodies read for the tool name.)"""
        return any(rule.match.mcp_tools or rule.action.kind.startswith("mcp_") for rule in self.rules)

    @functools.cached_property
    def prefilter(self) -> re.Pattern[str] | None:
        """One regex over `call_key(...)` that matches whenever any rule's host/method/path/service
        fields could: most calls of a profile meet no rule, and one C-level match says so at once.
        It may say yes when no rule matches (the exact check follows), never no when one does."""
        if not self.rules:
            return None
        return re.compile("|".join(f"(?:{_rule_key_pattern(rule.match)})" for rule in self.rules), re.DOTALL)


def call_key(method: str, host: str, service: str | None, path: str) -> str:
    """What `Profile.prefilter` reads: METHOD, host, service, path, NUL-separated."""
    return f"{method}\x00{host.lower()}\x00{service or ''}\x00{path}"


def _rule_key_pattern(match: Match) -> str:
    def alternatives(items: tuple[str, ...], globbed: bool) -> str:
        if not items:
            return "[^\x00]*"
        parts = [_glob_body(i) if globbed else re.escape(i) for i in items]
        return "(?:" + "|".join(parts) + ")"

    return (alternatives(match.methods, False) + "\x00" + alternatives(match.hosts, True) + "\x00"
            + alternatives(match.services, False) + "\x00" + alternatives(match.paths, True) + "$")


def _glob_body(pattern: str) -> str:
    # fnmatch.translate gives "(?s:BODY)\Z"; inside a larger pattern the anchor goes.
    translated = fnmatch.translate(pattern)
    return translated[:-2] if translated.endswith("\\Z") else translated


def glob_regex(patterns: tuple[str, ...], *, ignore_case: bool) -> re.Pattern[str] | None:
    if not patterns:
        return None
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), flags)
