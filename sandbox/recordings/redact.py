"""Secrets never reach a recording: redaction before anything is written, and a scan that checks.

What is redacted (the value becomes `REDACTED`, the name stays, so a diff still says what was sent):
- headers that carry credentials: Authorization (its scheme kept: `Bearer REDACTED`), Cookie and
  Set-Cookie (cookie names and attributes kept), and any header whose name says key, token,
  secret, password, signature, session or auth;
- query parameters, form fields and JSON fields with such a name, at any depth;
- anywhere in any text: token-shaped strings (`TOKEN_PATTERNS`: Stripe, GitHub, Slack, OpenAI and
  Anthropic keys, AWS access key ids, Google API keys, JWTs, bearer tokens, private keys; and one
  pattern per registered fake's `ServiceSpec.key_prefix`, so the sandbox's own keys, which hold
  '-' and '_', are caught whatever vendor format they imitate);
- the request's known secrets (`known_secrets`: its credentials, Basic ones decoded, cookies and
  secret-named fields), wherever they appear in the request or its response (`scrub`);
- configurable: more field names (`fields`) and regular expressions (`patterns`).

Bodies are edited in place as text, never re-serialised: a body with nothing to redact stays
byte-identical, and one with a secret differs only where the secret was (a JSON string value is
replaced inside its quotes). A redacted secret in a response is replayed redacted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, quote_plus

from sandbox.recordings.format import RecordingError

MARK = "REDACTED"

SECRET_NAME = re.compile(
    r"(api[-_]?key|apikey|access[-_]?key|secret|token|passw(or)?d|passwd|signature|session|auth|credential|"
    r"private[-_]?key|client[-_]?secret|^sig$|^key$)",
    re.IGNORECASE,
)
# Names that look secret by the regex but are not credentials (kept as sent).
NOT_SECRET = frozenset({"author", "authors", "authored_at", "oauth_version", "token_type", "max_tokens",
                        "total_tokens", "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
                        "max_output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                        "authority", "www-authenticate", "proxy-authenticate", "authentication-info",
                        "access-control-allow-credentials"})

TOKEN_PATTERNS: dict[str, str] = {
    "stripe key": r"\b(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9_\-]{8,}",
    # GitHub: classic tokens (gh[pousr]_ + 36), fine-grained ones (github_pat_ + 82 with '_').
    "github token": r"\b(?:gh[pousr]_[A-Za-z0-9_\-]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    # Slack: bot, user, app-level, config and refresh tokens (xoxb-, xoxp-, xapp-, xoxe.xoxp-, ...).
    "slack token": r"\b(?:xox[abposre]|xapp)(?:\.xox[a-z])?-[A-Za-z0-9_\-]{10,}",
    "openai/anthropic key": r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",
    "aws access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "google api key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    "bearer token": r"\b[Bb](?i:earer)\s+(?!REDACTED)[A-Za-z0-9._~+/=\-]{16,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
}

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@functools.cache
def service_key_patterns() -> dict[str, str]:
    """One pattern per registered fake: its key prefix and what `secrets.token_urlsafe` appends.
    No word boundary in front: a key pasted after `_` (`api_key_zdt_...`) is still caught."""
    import services

    out = {}
    for service_id in _registered():
        prefix = services.get_service(service_id).key_prefix
        if prefix:
            out[f"sandbox {service_id} key"] = re.escape(prefix) + r"[A-Za-z0-9_\-]{16,}"
    return out


@functools.cache
def _vendor_prefix() -> re.Pattern:
    """The prefixes a redacted token keeps, so the recording still says what kind of key it was."""
    import services

    prefixes = sorted({re.escape(services.get_service(s).key_prefix) for s in _registered()} - {""},
                      key=len, reverse=True)
    known = r"(?:sk|rk|pk|whsec)_(?:live|test)_|gh[pousr]_|github_pat_|(?:xox[abposre]|xapp)(?:\.xox[a-z])?-|sk-"
    return re.compile(rf"^(?:{known}|{'|'.join(prefixes)})" if prefixes else rf"^(?:{known})")


def _registered() -> list[str]:
    # Every registered fake, not only the active ones ($SANDBOX_SERVICES): a recording made with
    # another set of fakes must be redacted and scanned the same way.
    import services

    return list(services._MODULES)


def token_patterns() -> dict[str, str]:
    """Every built-in pattern, by kind: the vendors' formats, then the sandbox's own keys."""
    return {**TOKEN_PATTERNS, **service_key_patterns()}


def compile_patterns(patterns: Iterable[object], where: str) -> list[str]:
    """`patterns` checked one by one: a RecordingError names the bad one and where it came from."""
    out = []
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern:
            raise RecordingError(f"{where}: redact pattern [{i}] should be a non-empty string, found "
                                 f"{json.dumps(pattern)[:60]}", hint="give regular expressions as strings")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RecordingError(f"{where}: redact pattern {pattern!r} is not a regular expression: {exc}",
                                 hint="fix or remove it (Python `re` syntax; escape literal characters such as "
                                      "'(' with a backslash)") from None
        out.append(pattern)
    return out


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str
    sample: str  # the start of the match, enough to find it, not enough to use it


@dataclass
class Redactor:
    fields: tuple[str, ...] = ()  # more names to redact in headers, query, form and JSON
    patterns: tuple[str, ...] = ()  # more regular expressions to redact anywhere
    where: str = field(default="redaction options", compare=False)  # where fields/patterns came from
    _token: re.Pattern = field(init=False, repr=False)
    _fields: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Each pattern on its own first: a bad one is named, not lost in the joined alternation.
        alternatives = list(token_patterns().values()) + compile_patterns(self.patterns, self.where)
        self._token = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self._fields = frozenset(f.lower() for f in self.fields)

    def config(self) -> dict[str, list[str]]:
        """What a recording header stores, so replay normalises requests the same way."""
        return {"fields": list(self.fields), "patterns": list(self.patterns)}

    @classmethod
    def from_config(cls, config: object, where: str = "recording header") -> Redactor:
        """From a recording header's `redact`; a bad one is a RecordingError naming `where`."""
        if config is None:
            return cls(where=where)
        if not isinstance(config, dict):
            raise RecordingError(f"{where}: redact should be an object {{\"fields\": [...], \"patterns\": [...]}}",
                                 hint="fix or remove the header's redact field")
        fields = config.get("fields") or []
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise RecordingError(f"{where}: redact.fields should be a list of field names (strings)")
        patterns = config.get("patterns") or []
        if not isinstance(patterns, list):
            raise RecordingError(f"{where}: redact.patterns should be a list of regular expressions")
        return cls(tuple(fields), tuple(patterns), where=f"{where}: redact.patterns")

    # -- names and strings ------------------------------------------------------------------------

    def secret_name(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in self._fields:
            return True
        return lowered not in NOT_SECRET and bool(SECRET_NAME.search(lowered))

    def text(self, value: str) -> str:
        """Token-shaped substrings of `value` replaced."""
        return self._token.sub(_keep_scheme, value) if value else value

    # -- headers, query, bodies ------------------------------------------------------------------

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        out = []
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("authorization", "proxy-authorization"):
                scheme, sep, _ = value.partition(" ")
                value = f"{scheme} {MARK}" if sep else MARK
            elif lowered == "cookie":
                value = "; ".join(_cookie_pair(p) for p in value.split(";") if p.strip())
            elif lowered == "set-cookie":
                first, sep, attributes = value.partition(";")
                value = _cookie_pair(first) + (sep + attributes if sep else "")
            elif self.secret_name(lowered):
                value = MARK
            else:
                value = self.text(value)
            out.append((name, value))
        return out

    def query(self, query: str) -> str:
        """A query string (or form body) with secret-named values replaced, order and spelling kept."""
        if not query:
            return query
        parts = []
        for part in query.split("&"):
            name, sep, value = part.partition("=")
            plain = _unquote(name)
            if sep and value and self.secret_name(_base_name(plain)):
                value = MARK
            elif sep and value:
                redacted = self.text(_unquote(value))
                if redacted != _unquote(value):
                    value = quote_plus(redacted, safe="")
            parts.append(name + sep + value)
        return "&".join(parts)

    def known_secrets(self, headers: Iterable[tuple[str, str]], query: str, body: bytes,
                      content_type: str | None) -> frozenset[str]:
        """The secret values a request carries (its key, cookies, secret-named fields): an answer
        that echoes one of them gets it redacted too, wherever it appears."""
        found: set[str] = set()
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("authorization", "proxy-authorization"):
                scheme, _, credentials = value.strip().partition(" ")
                found.add(credentials.strip() or value)
                if scheme.lower() == "basic":
                    found.update(self._basic(credentials.strip()))
            elif lowered == "cookie":
                found.update(p.partition("=")[2].strip() for p in value.split(";"))
            elif self.secret_name(lowered):
                found.add(value)
        text = body.decode("utf-8", "replace") if body else ""
        kind = (content_type or "").split(";")[0].strip().lower()
        forms = [query] + ([text] if kind == "application/x-www-form-urlencoded" else [])
        for form in forms:
            found.update(v for k, v in query_pairs(form) if self.secret_name(_base_name(k)))
        if text and (kind.endswith("json") or text.lstrip()[:1] in ("{", "[")):
            try:
                found.update(self._json_secrets(json.loads(text)))
            except ValueError:
                pass
        return frozenset(v for v in found if len(v) >= 6 and v != MARK)

    def _basic(self, blob: str) -> set[str]:
        """The secrets inside Basic credentials: the password, and the user when it is a key (Stripe
        sends `key:`; zenpy sends `email/token:token`, whose user part is an address, not a key)."""
        try:
            decoded = base64.b64decode(blob, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return set()
        user, _, password = decoded.partition(":")
        found = {password} if password else set()
        if user and (not password or self._token.fullmatch(user)):
            found.add(user)
        return found

    def scrub(self, data: bytes, known: frozenset[str]) -> bytes:
        """`data` with every known secret value replaced: as is, as spelled inside JSON, and
        percent-encoded (query strings, form bodies)."""
        if not data or not known:
            return data
        for secret in sorted(known, key=len, reverse=True):
            for spelled in _spellings(secret):
                data = data.replace(spelled.encode("utf-8"), MARK.encode())
        return data

    def scrub_text(self, text: str, known: frozenset[str]) -> str:
        """`scrub` for a string (a header value, a query string, a path)."""
        if not text or not known:
            return text
        for secret in sorted(known, key=len, reverse=True):
            for spelled in _spellings(secret):
                text = text.replace(spelled, MARK)
        return text

    # -- whole messages -----------------------------------------------------------------------------

    def request(self, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes,
                content_type: str | None, known: frozenset[str] = frozenset()
                ) -> tuple[str, str, list[tuple[str, str]], bytes]:
        """A request's path, query, headers and body as a recording keeps them: secret names and
        token shapes redacted, then every known secret scrubbed wherever it still is."""
        return (self.scrub_text(self.text(path), known),
                self.scrub_text(self.query(query), known),
                [(k, self.scrub_text(v, known)) for k, v in self.headers(headers)],
                self.scrub(self.body(body, content_type), known))

    def response_headers(self, headers: Iterable[tuple[str, str]], known: frozenset[str] = frozenset()
                         ) -> list[tuple[str, str]]:
        return [(k, self.scrub_text(v, known)) for k, v in self.headers(headers)]

    def response_body(self, body: bytes, content_type: str | None, known: frozenset[str] = frozenset()) -> bytes:
        return self.scrub(self.body(body, content_type), known)

    def value(self, doc: object) -> object:
        """A JSON value (a state change's row) with token-shaped strings redacted at any depth."""
        if isinstance(doc, str):
            return self.text(doc)
        if isinstance(doc, dict):
            return {k: self.value(v) for k, v in doc.items()}
        if isinstance(doc, list):
            return [self.value(v) for v in doc]
        return doc

    def body(self, data: bytes, content_type: str | None) -> bytes:
        """`data` with secrets replaced; bytes that are not UTF-8 text are returned as they are."""
        if not data:
            return data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            text = self.query(text)
        elif kind.endswith("json") or (not kind and text.lstrip()[:1] in ("{", "[")):
            text = self._json(text)
        elif kind == "text/event-stream":
            text = "".join(self._sse_line(line) for line in text.splitlines(keepends=True))
        redacted = self.text(text)
        return data if redacted == data.decode("utf-8") else redacted.encode("utf-8")

    def _sse_line(self, line: str) -> str:
        if line.startswith("data:"):
            payload = line[5:]
            return "data:" + self._json(payload) if payload.strip()[:1] in ("{", "[") else line
        return line

    def _json(self, text: str) -> str:
        try:
            doc = json.loads(text)
        except ValueError:
            return text
        secrets = sorted(set(self._json_secrets(doc)), key=len, reverse=True)
        for secret in secrets:
            # Replace the string as it is spelled in the text, inside its quotes: formatting kept.
            for spelled in {json.dumps(secret), json.dumps(secret, ensure_ascii=False)}:
                text = text.replace(spelled, json.dumps(MARK))
        return text

    def _json_secrets(self, doc: object, secret: bool = False) -> Iterator[str]:
        if isinstance(doc, dict):
            for key, value in doc.items():
                yield from self._json_secrets(value, secret or self.secret_name(str(key)))
        elif isinstance(doc, list):
            for item in doc:
                yield from self._json_secrets(item, secret)
        elif secret and isinstance(doc, str) and doc and doc != MARK:
            yield doc

    # -- checking ---------------------------------------------------------------------------------

    def findings(self, value: str, where: str) -> list[Finding]:
        out = []
        for match in self._token.finditer(value):
            found = match.group(0)
            if MARK in found:
                continue
            kind = next((k for k, p in token_patterns().items() if re.fullmatch(p, found)), "configured pattern")
            out.append(Finding(kind, where, found[:8] + "…"))
        return out


def _keep_scheme(match: re.Match) -> str:
    found = match.group(0)
    if found[:6].lower() == "bearer":
        return found.split(None, 1)[0] + " " + MARK
    if found.startswith("-----BEGIN"):
        return MARK
    # Keep a vendor prefix (sk_test_, ghp_, xoxb-, zdt_), so the recording still says what kind of key it was.
    prefix = _vendor_prefix().match(found)
    return (prefix.group(0) if prefix else "") + MARK


def _spellings(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], quote_plus(secret, safe=""), quote(secret, safe="")}


def _cookie_pair(pair: str) -> str:
    name, sep, _ = pair.strip().partition("=")
    return f"{name}={MARK}" if sep else pair.strip()


def _unquote(value: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(value)


def _base_name(name: str) -> str:
    """`metadata[api_key]` -> `api_key`: form fields in Stripe's bracket notation."""
    return name.rstrip("]").rsplit("[", 1)[-1] if name.endswith("]") else name


def query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)
