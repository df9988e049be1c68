"""Validation of fault profiles: every problem is reported with the file, the rule and the field,
and a fix (`rules[2] (slow-reads).action.uniform_ms: min 300 is above max 100`).

The format itself is documented in `sandbox.faults.model` and library/README.md.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from pathlib import Path
from typing import Any

from sandbox.errors import ServiceError, did_you_mean
from sandbox.faults.model import (
    ACTIONS,
    DRIFT_OPS,
    HTML_OPS,
    MATCH_KEYS,
    MAX_PER_PAGE,
    REQUIRED,
    RETYPES,
    RULE_KEYS,
    TOP_KEYS,
    VIA,
    WEBHOOK_KINDS,
    WEBHOOK_ONLY_KINDS,
    Action,
    FaultProfileError,
    Match,
    Profile,
    Rule,
    glob_regex,
)
from sandbox.yaml_files import read_yaml_file


class _Check:
    """Raises FaultProfileError naming the file, the rule and the field, with a fix."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, place: str, problem: str, hint: str | None = None) -> None:
        raise FaultProfileError(f"{self.source}: {place}: {problem}", hint=hint)

    def mapping(self, value: Any, place: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(place, f"expected a mapping, got {type(value).__name__}")
        return value

    def known(self, value: dict[str, Any], keys: tuple[str, ...] | list[str], place: str) -> None:
        for key in value:
            if key not in keys:
                self.fail(f"{place}.{key}" if place else str(key), "unknown field", did_you_mean(str(key), list(keys)))

    def strings(self, value: Any, place: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v.strip() for v in items):
            self.fail(place, f"expected a string or a list of strings, got {value!r}")
        return tuple(v.strip() for v in items)

    def integer(self, value: Any, place: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(place, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, value: Any, place: str, low: float = 0.0, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low or (high is not None
                                                                                            and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            self.fail(place, f"expected a number {bound}, got {value!r}")
        return float(value)

    # -- action field checkers, by name (see ACTIONS) -----------------------------------------

    def ms(self, value: Any, place: str) -> float:
        return self.number(value, place, 0, 600_000)

    def seconds(self, value: Any, place: str) -> int:
        return self.integer(value, place, 0)

    def positive_int(self, value: Any, place: str) -> int:
        return self.integer(value, place, 1)

    def fraction(self, value: Any, place: str) -> float:
        number = self.number(value, place, 0, 1)
        if not 0 < number < 1:
            self.fail(place, f"expected a fraction strictly between 0 and 1, got {value!r}")
        return number

    def boolean(self, value: Any, place: str) -> bool:
        if not isinstance(value, bool):
            self.fail(place, f"expected true or false, got {value!r}")
        return value

    def text(self, value: Any, place: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(place, f"expected a non-empty string, got {value!r}")
        return value

    def error_status(self, value: Any, place: str) -> int:
        status = self.integer(value, place, 0)
        if not 400 <= status <= 599:
            self.fail(place, f"expected an HTTP error status (400-599), got {value!r}")
        return status

    def busy_status(self, value: Any, place: str) -> int:
        if value not in (409, 423):
            self.fail(place, f"expected 409 or 423, got {value!r}", "409 Conflict or 423 Locked say 'resource busy'")
        return value

    def per_page(self, value: Any, place: str) -> int:
        number = self.integer(value, place, 1)
        if number > MAX_PER_PAGE:
            self.fail(place, f"expected at most {MAX_PER_PAGE}, got {value!r}", "the pages take per_page from 1 to 100")
        return number

    def until(self, value: Any, place: str) -> str:
        if value not in ("retry", "reauth"):
            self.fail(place, f"expected 'retry' or 'reauth', got {value!r}")
        return value

    def range_ms(self, value: Any, place: str) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(place, f"expected [min_ms, max_ms], got {value!r}")
        low, high = (self.ms(v, f"{place}[{i}]") for i, v in enumerate(value))
        if low > high:
            self.fail(place, f"min {low} is above max {high}")
        return (low, high)

    def lognormal(self, value: Any, place: str) -> dict[str, float]:
        spec = self.mapping(value, place)
        self.known(spec, ("median_ms", "sigma", "cap_ms"), place)
        for needed in ("median_ms", "cap_ms"):
            if needed not in spec:
                self.fail(f"{place}.{needed}", "missing", "a lognormal latency needs median_ms and cap_ms (sigma: 1.0)")
        out = {
            "median_ms": self.ms(spec["median_ms"], f"{place}.median_ms"),
            "sigma": self.number(spec.get("sigma", 1.0), f"{place}.sigma", 0, 10),
            "cap_ms": self.ms(spec["cap_ms"], f"{place}.cap_ms"),
        }
        return out

    def drift_ops(self, value: Any, place: str) -> tuple[dict[str, Any], ...]:
        return self._ops(value, place, DRIFT_OPS, self._drift_op)

    def html_ops(self, value: Any, place: str) -> tuple[dict[str, Any], ...]:
        return self._ops(value, place, HTML_OPS, self._html_op)

    def _ops(self, value: Any, place: str, names: tuple[str, ...], each) -> tuple[dict[str, Any], ...]:
        if not isinstance(value, list) or not value:
            self.fail(place, "expected a non-empty list of operations", f"each one of: {', '.join(names)}")
        out = []
        for i, raw in enumerate(value):
            where = f"{place}[{i}]"
            op = self.mapping(raw, where)
            if len(op) != 1:
                self.fail(where, f"expected one operation, got {sorted(op)}", f"one of: {', '.join(names)}")
            (name, arg), = op.items()
            if name not in names:
                self.fail(f"{where}.{name}", "unknown operation", did_you_mean(str(name), list(names)))
            out.append({name: each(name, arg, f"{where}.{name}")})
        return tuple(out)

    def field_path(self, value: Any, place: str) -> str:
        """A drift field as sandbox/faults/drift.py reads it: a key (`email`), or a dotted path whose
        steps are keys, `*`, or a key with a trailing `[]` (`data[].customer.email`). The fakes
        publish no response schemas, so the names themselves cannot be checked, only their form:
        a malformed path would silently match nothing."""
        path = self.text(value, place)
        hint = "write a key (email) or a dotted path (data[].customer.email, tickets.*.subject)"
        if path != path.strip() or any(c.isspace() for c in path):
            self.fail(place, f"{path!r} has spaces in it", hint)
        for step in path.split("."):
            key = step[:-2] if step.endswith("[]") else step
            if not step:
                self.fail(place, f"{path!r} has an empty step (a leading, trailing or doubled dot)", hint)
            if "[" in key or "]" in key or ("*" in key and key != "*"):
                self.fail(place, f"{path!r}: step {step!r} is not a key, `*` or `key[]`", hint)
        return path

    def _drift_op(self, name: str, arg: Any, place: str) -> Any:
        if name == "rename":
            spec = self.mapping(arg, place)
            self.known(spec, ("field", "to"), place)
            to = self.text(spec.get("to"), f"{place}.to")
            if "." in to or "[" in to or "*" in to:
                self.fail(f"{place}.to", f"{to!r} is a path, but `to` is the key's new name",
                          "rename keeps the key where it is: write only the new name, e.g. {field: data[].email, "
                          "to: email_address}")
            return {"field": self.field_path(spec.get("field"), f"{place}.field"), "to": to}
        if name == "hide":
            return self.field_path(arg, place)
        if name == "add":
            spec = self.mapping(arg, place)
            if not spec:
                self.fail(place, "expected {field: value, ...}")
            return dict(spec)
        if name == "retype":
            spec = self.mapping(arg, place)
            self.known(spec, ("field", "to"), place)
            to = spec.get("to")
            if to not in RETYPES:
                self.fail(f"{place}.to", f"unknown type {to!r}", f"use one of {', '.join(RETYPES)}")
            return {"field": self.field_path(spec.get("field"), f"{place}.field"), "to": to}
        if name == "page_size":
            return self.integer(arg, place, 1)
        if arg not in ("reverse", "shuffle"):
            self.fail(place, f"expected 'reverse' or 'shuffle', got {arg!r}")
        return arg

    def _html_op(self, name: str, arg: Any, place: str) -> Any:
        spec = self.mapping(arg, place)
        if name in ("interstitial", "cookie_banner"):
            self.known(spec, HTML_TEXT_FIELDS[name], place)
            return {k: self.text(v, f"{place}.{k}") for k, v in spec.items()}
        if name in HTML_SCRIPT_OPS:
            return self._html_script_op(name, spec, place)
        keys = {"rename": ("selector", "text", "to"), "hide": ("selector", "text", "remove"),
                "move": ("selector", "text", "to")}[name]
        self.known(spec, keys, place)
        if ("selector" in spec) == ("text" in spec):
            self.fail(place, "give exactly one of `selector` (#id, .class, tag, [name=value]) or `text`")
        out = {k: spec[k] for k in ("selector", "text") if k in spec}
        for k in out:
            self.text(out[k], f"{place}.{k}")
        if "selector" in out:
            self.selector(out["selector"], f"{place}.selector")
        if name == "rename":
            out["to"] = self.text(spec.get("to"), f"{place}.to")
        elif name == "hide":
            out["remove"] = self.boolean(spec.get("remove", False), f"{place}.remove")
        else:
            to = spec.get("to", "end")
            if not isinstance(to, str) or not (to in ("start", "end") or to.startswith(("before:", "after:"))):
                self.fail(f"{place}.to", f"expected start, end, before:SELECTOR or after:SELECTOR, got {to!r}")
            out["to"] = to
        return out

    def _html_script_op(self, name: str, spec: dict[str, Any], place: str) -> dict[str, Any]:
        """confirm, slow_list, move_after_load: a selector the browser's script looks up, and a delay."""
        defaults = HTML_SCRIPT_OPS[name]
        self.known(spec, tuple(defaults), place)
        out: dict[str, Any] = {}
        for key, default in defaults.items():
            if key not in spec and default is REQUIRED:
                self.fail(f"{place}.{key}", "missing", f"{name} needs {' and '.join(defaults)}")
            value = spec.get(key, default)
            if key == "selector":
                out[key] = self.selector(self.text(value, f"{place}.selector"), f"{place}.selector")
            else:
                out[key] = int(self.number(value, f"{place}.{key}", 0, 60_000))
        return out

    def selector(self, selector: str, place: str) -> str:
        from sandbox.faults.html import parse_selector

        try:
            parse_selector(selector)
        except ValueError as exc:
            self.fail(place, str(exc), "write #id, .class, tag, tag#id, tag.class or [attr=value]")
        if "<" in selector or "\\" in selector:
            self.fail(place, f"{selector!r} has < or a backslash in it", "no element's id or class needs one")
        return selector


def parse_profile(data: Any, source: str) -> Profile:
    """Validate the YAML document `data` read from `source` and build its Profile."""
    check = _Check(source)
    doc = check.mapping(data, "(top level)")
    check.known(doc, TOP_KEYS, "")
    for needed in ("name", "seed", "rules"):
        if needed not in doc:
            check.fail(needed, "missing", "a profile needs name, seed and rules; see sandbox/faults/library/README.md")
    name = check.text(doc["name"], "name")
    seed = check.integer(doc["seed"], "seed")
    rules_doc = doc["rules"]
    if not isinstance(rules_doc, list):
        check.fail("rules", "expected a list of rules")
    rules = []
    names: set[str] = set()
    for index, raw in enumerate(rules_doc):
        rule_doc = check.mapping(raw, f"rules[{index}]")
        rule_name = str(rule_doc.get("name") or f"rule-{index}")
        place = f"rules[{index}] ({rule_name})"
        check.known(rule_doc, RULE_KEYS, place)
        if rule_name in names:
            check.fail(f"{place}.name", f"another rule is already called {rule_name!r}", "rule names must be unique")
        names.add(rule_name)
        match = _match(check, check.mapping(rule_doc.get("match", {}), f"{place}.match"), f"{place}.match")
        if "action" not in rule_doc:
            check.fail(f"{place}.action", "missing", f"give an action with a kind: {', '.join(ACTIONS)}")
        action = _action(check, rule_doc["action"], f"{place}.action")
        _check_via(check, match, action, place)
        _check_web_kind(check, match, action, place)
        rules.append(Rule(index, rule_name, match, action))
    return Profile(name=name, seed=seed, rules=tuple(rules), source=source, description=str(doc.get("description")
                                                                                             or ""))


def _match(check: _Check, doc: dict[str, Any], place: str) -> Match:
    check.known(doc, MATCH_KEYS, place)
    hosts = _hosts(check, doc["host"], f"{place}.host") if "host" in doc else ()
    paths = check.strings(doc["path"], f"{place}.path") if "path" in doc else ()
    for i, path in enumerate(paths):
        if not path.startswith(("/", "*")):
            check.fail(f"{place}.path", f"{path!r} does not start with / or *", "write the path as the agent sends it")
        del i
    nth: tuple[int, ...] = ()
    if "nth" in doc:
        raw = doc["nth"] if isinstance(doc["nth"], list) else [doc["nth"]]
        if not raw:
            check.fail(f"{place}.nth", "expected an integer >= 1 or a non-empty list of them")
        nth = tuple(check.integer(v, f"{place}.nth", 1) for v in raw)
    mcp_tools = _mcp_tools(check, doc["mcp_tool"], f"{place}.mcp_tool") if "mcp_tool" in doc else ()
    return Match(
        hosts=tuple(h.lower() for h in hosts),
        methods=_methods(check, doc["method"], f"{place}.method") if "method" in doc else (),
        paths=paths,
        services=_services(check, doc["service"], f"{place}.service") if "service" in doc else (),
        nth=nth,
        every=check.integer(doc["every"], f"{place}.every", 1) if "every" in doc else None,
        probability=check.number(doc["probability"], f"{place}.probability", 0, 1) if "probability" in doc else None,
        after_s=check.number(doc["after_s"], f"{place}.after_s") if "after_s" in doc else None,
        times=check.integer(doc["times"], f"{place}.times", 1) if "times" in doc else None,
        mcp_tools=mcp_tools,
        mcp_tool_re=glob_regex(mcp_tools, ignore_case=False),
        via=_via(check, doc["via"], f"{place}.via") if "via" in doc else "agent",
        host_re=glob_regex(tuple(h.lower() for h in hosts), ignore_case=True),
        path_re=glob_regex(paths, ignore_case=False),
    )


def _via(check: _Check, value: Any, place: str) -> str:
    if value not in VIA:
        check.fail(place, f"expected one of {', '.join(VIA)}, got {value!r}",
                   "agent: the agent's own requests; webhook: deliveries from a fake to the agent's endpoint")
    return value


def _check_via(check: _Check, match: Match, action: Action, place: str) -> None:
    """A webhook delivery can be delayed, duplicated, reordered or dropped, nothing else; duplicate and
    reorder mean nothing for an agent's request."""
    if match.via == "webhook" and action.kind not in WEBHOOK_KINDS:
        check.fail(f"{place}.action.kind", f"{action.kind} does not act on webhook deliveries",
                   f"with via: webhook use one of {', '.join(sorted(WEBHOOK_KINDS))}")
    if match.via != "webhook" and action.kind in WEBHOOK_ONLY_KINDS:
        check.fail(f"{place}.match.via", f"{action.kind} acts on webhook deliveries only",
                   "add via: webhook to the rule's match")


# The html operations that only insert a notice: which texts each takes.
HTML_TEXT_FIELDS = {"interstitial": ("title", "text", "button"), "cookie_banner": ("text", "accept", "reject")}
# The html operations a browser runs: their fields and defaults (REQUIRED: must be given).
HTML_SCRIPT_OPS: dict[str, dict[str, Any]] = {
    "confirm": {"selector": "[data-confirm]"},
    "slow_list": {"selector": "table tbody", "delay_ms": 1500},
    "move_after_load": {"selector": REQUIRED, "delay_ms": 500},
}


def _check_web_kind(check: _Check, match: Match, action: Action, place: str) -> None:
    """page_size rewrites list reads, session_expired answers form posts: a rule that could meet
    the other kind of call would do something no profile author means."""
    if action.kind == "page_size" and set(match.methods) - {"GET"}:
        check.fail(f"{place}.match.method", "page_size changes list pages, which are read with GET",
                   "use method: GET (or leave method out)")
    if action.kind == "session_expired":
        if not match.methods or "GET" in match.methods:
            check.fail(f"{place}.match.method", "session_expired acts on form posts",
                       "add method: POST to the rule's match (and nth: to pick which post)")
        from services import get_service

        for service in match.services:
            if get_service(service).web_login is None:
                check.fail(f"{place}.match.service", f"{service} has no web pages to sign in to",
                           "session_expired needs a service whose ServiceSpec sets web_login")


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE")
# A host glob: letters, digits, dots, dashes, underscores and the glob characters `*` `?` `[...]`.
HOST_GLOB = re.compile(r"^[a-z0-9_.*?\[\]!-]+$")
# How close a host must be to a vendor host it does not match to be taken for a misspelling of it
# (difflib ratio): api.stirpe.com is 0.93 from api.stripe.com, api.example.com 0.69.
HOST_TYPO = 0.85


def _services(check: _Check, value: Any, place: str) -> tuple[str, ...]:
    """Registered service ids only: a rule for `paymnets` would match nothing and the run would look
    unperturbed."""
    from services import get_service

    names = check.strings(value, place)
    for name in names:
        try:
            get_service(name)
        except ServiceError as exc:
            check.fail(place, f"unknown service {name!r}", exc.hint)
    return names


def _mcp_tools(check: _Check, value: Any, place: str) -> tuple[str, ...]:
    """Tool-name globs, checked against the fakes' MCP tools: a misspelt `create_refnd` would match
    nothing and the run would look unperturbed."""
    from services.common.mcp_tools import all_tool_names

    globs = check.strings(value, place)
    known = all_tool_names()
    for glob in globs:
        if not any(fnmatch.fnmatchcase(name, glob) for name in known):
            check.fail(place, f"no MCP tool of any fake is called {glob!r}",
                       did_you_mean(glob, sorted(known)) or "see a fake's tools with tools/list")
    return globs


def _methods(check: _Check, value: Any, place: str) -> tuple[str, ...]:
    methods = tuple(m.upper() for m in check.strings(value, place))
    for method in methods:
        if method not in METHODS:
            check.fail(place, f"unknown HTTP method {method!r}", did_you_mean(method, list(METHODS)))
    return methods


def _hosts(check: _Check, value: Any, place: str) -> tuple[str, ...]:
    """Host globs, as the agent's request names the host: no scheme, port or path. A host that no
    fake answers for may be an allow-listed outside host, so it is an error only when it is a near
    miss of a vendor host (api.stirpe.com), which would leave the rule matching nothing."""
    hosts = tuple(h.lower() for h in check.strings(value, place))
    vendor = _vendor_hosts()
    for host in hosts:
        if "://" in host or "/" in host:
            check.fail(place, f"{host!r} is a URL, not a host", "give the host alone (api.stripe.com); paths go "
                       "in match.path")
        if re.search(r":\d+$", host):
            check.fail(place, f"{host!r} has a port", "give the host alone (api.stripe.com): a rule matches every port")
        if not HOST_GLOB.match(host):
            check.fail(place, f"{host!r} is not a host name or host pattern", "e.g. api.stripe.com or *.zendesk.com")
        if vendor and not any(_hosts_meet(host, v) for v in vendor):
            close = difflib.get_close_matches(host, vendor, n=1, cutoff=HOST_TYPO)
            if close:
                check.fail(place, f"{host!r} is no host a fake answers for", f"did you mean {close[0]!r}?")
    return hosts


def _vendor_hosts() -> list[str]:
    from services import host_routes

    return sorted(host_routes())


def _hosts_meet(pattern: str, vendor: str) -> bool:
    """Can a host matching glob `pattern` be one the vendor host (or `*.suffix`) names?"""
    sample = vendor.replace("*", "tenant")  # *.zendesk.com -> tenant.zendesk.com
    return fnmatch.fnmatchcase(sample, pattern) or fnmatch.fnmatchcase(pattern, vendor)


def _action(check: _Check, raw: Any, place: str) -> Action:
    doc = check.mapping(raw, place)
    kind = doc.get("kind")
    if kind not in ACTIONS:
        check.fail(f"{place}.kind", f"unknown action kind {kind!r}" if kind else "missing",
                   did_you_mean(str(kind), list(ACTIONS)) if kind else f"one of: {', '.join(ACTIONS)}")
    fields = ACTIONS[kind]
    check.known(doc, ("kind", *fields), place)
    params: dict[str, Any] = {}
    for name, (checker, default) in fields.items():
        if name in doc:
            params[name] = getattr(check, checker)(doc[name], f"{place}.{name}")
        elif default is REQUIRED:
            check.fail(f"{place}.{name}", "missing", f"a {kind} action needs {name}")
        elif default is not None:
            params[name] = default
    if kind == "latency":
        given = [k for k in ("ms", "uniform_ms", "lognormal") if k in params]
        if len(given) != 1:
            check.fail(place, f"a latency needs exactly one of ms, uniform_ms, lognormal (got {given or 'none'})",
                       "e.g. {kind: latency, ms: 200} or {kind: latency, uniform_ms: [50, 300]}")
    if "reauth_path" in params and not params["reauth_path"].startswith(("/", "*")):
        check.fail(f"{place}.reauth_path", f"{params['reauth_path']!r} does not start with / or *",
                   "write the path as the agent sends it, e.g. /agent/login")
    if kind == "expire_session" and params.get("until") == "reauth" and "reauth_path" not in params:
        check.fail(f"{place}.reauth_path", "missing", "with until: reauth, say which path re-authenticates "
                   "(e.g. /agent/login)")
    if kind == "ghost_write" and params.get("drop") and "status" in doc:
        check.fail(place, "give either drop: true or a status, not both")
    return Action(kind, params)


def read_profile_file(path: Path) -> Profile:
    """Load and validate the profile file `path`."""
    data = read_yaml_file(path, FaultProfileError, "fault profile",
                          "give a profile name (sandbox faults list) or a YAML file path")
    return parse_profile(data, str(path))
