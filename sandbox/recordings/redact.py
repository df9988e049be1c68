"""Secrets never reach a recording: redaction before anything is written, and a scan that checks.

What is redacted (the value becomes `REDACTED`, the name stays, so a diff still says what was sent):
- headers that carry credentials: Authorization (its scheme kept: `Bearer REDACTED`), Cookie and
  Set-Cookie (cookie names and attributes kept), and any header whose name says key, token,
  secret, password, signature, session or auth (`auth` as a whole word: not `author_email`);
- query parameters, form fields, multipart/form-data parts and JSON fields with such a name, at
  any depth, whatever their JSON type (a numeric password becomes "REDACTED");
- anywhere in any text: token-shaped strings (`TOKEN_PATTERNS`: Stripe, GitHub, Slack, OpenAI and
  Anthropic keys, AWS access key ids, Google API keys, JWTs, bearer tokens, private keys; and one
  pattern per registered fake's `ServiceSpec.key_prefix`, so the sandbox's own keys, which hold
  '-' and '_', are caught whatever vendor format they imitate); in a path or query also
  percent-encoded (`sk%5Ftest%5F...`), in parameter names and bare parts too, and in JSON also
  spelled with escapes;
- the request's known secrets (`known_secrets`: its credentials, Basic ones decoded, cookies and
  secret-named fields) that look like secrets (`looks_secret`: not `default` or a short password),
  wherever they appear in the request or its response, however spelled: as is, percent-encoded in
  either case, JSON-escaped (`scrub`);
- configurable: more field names (`fields`) and regular expressions (`patterns`).

Bodies are edited in place as text, never re-serialised: a body with nothing to redact stays
byte-identical, and one with a secret differs only where the secret was (a JSON string value is
replaced inside its quotes). Bytes that are not UTF-8 are kept as they are around what is redacted.
A redacted secret in a response is replayed redacted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from json.decoder import scanstring
from json.scanner import NUMBER_RE
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from sandbox.errors import RecordingError

MARK = "REDACTED"

SECRET_NAME = re.compile(
    r"(api[-_]?key|apikey|access[-_]?key|secret|token|passw(or)?d|passwd|signature|session|credential|"
    r"private[-_]?key|client[-_]?secret|^sig$|^key$|"
    # `auth` only as a whole name segment (auth, x-auth-token, basic_auth, authorization), so that
    # author_email, author_id or authority, which vendors' answers are full of, are kept.
    r"(?:^|[-_.\s\[])(?:auth|authorization|authentication|authn|authkey|authcode)(?=$|[-_.\s\]]))",
    re.IGNORECASE,
)
# Names that look secret by the regex but are not credentials (kept as sent).
# Every name SECRET_NAME matches holds one of these (lower-cased).
_NAME_FRAGMENTS = ("key", "secret", "token", "passw", "sig", "session", "credential", "auth")

NOT_SECRET = frozenset({"author", "authors", "authored_at", "oauth_version", "token_type", "max_tokens",
                        "total_tokens", "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
                        "max_output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                        "authority", "www-authenticate", "proxy-authenticate", "authentication-info",
                        "access-control-allow-credentials"})

TOKEN_PATTERNS: dict[str, str] = {
    # Stripe keys, and webhook signing secrets (whsec_ and 32 characters, no live/test part).
    "stripe key": r"\b(?:(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9_\-]{8,}|whsec_[A-Za-z0-9]{24,})",
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
    known = r"(?:sk|rk|pk|whsec)_(?:live|test)_|whsec_|gh[pousr]_|github_pat_|(?:xox[abposre]|xapp)(?:\.xox[a-z])?-|sk-"
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
    _maybe: tuple[str, ...] | None = field(init=False, repr=False, compare=False)
    _scrubbed_cache: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Each pattern on its own first: a bad one is named, not lost in the joined alternation.
        alternatives = list(token_patterns().values()) + compile_patterns(self.patterns, self.where)
        self._token = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self._fields = frozenset(f.lower() for f in self.fields)
        self._maybe = _prefilter(self.patterns)
        self._scrubbed_cache = {}

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
        if not value:
            return value
        if self._maybe is not None:
            lowered = value.lower()
            if not any(literal in lowered for literal in self._maybe):
                # No token can be in it: a few substring searches instead of the full alternation, whose
                # cost was ~20 % of the proxy's CPU on the ledger's every exchange (Stripe's long ids
                # defeated a character-class prefilter).
                return value
        return self._token.sub(_keep_scheme, value)

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
        """A query string (or form body) with secret-named values replaced, and token shapes in names,
        values and bare parts (`?sk_test_...`) too, as sent or percent-encoded; order and spelling kept
        where nothing is redacted. `;` separates parts as `&` does (some servers read it so)."""
        if not query:
            return query
        pieces = _QUERY_SEPARATOR.split(query)
        for i in range(0, len(pieces), 2):  # the separators sit at the odd places
            name, sep, value = pieces[i].partition("=")
            if sep and value and self.secret_name(_base_name(_unquote(name))):
                value = MARK
            elif value:
                value = self._encoded_text(value, safe="")
            pieces[i] = self._encoded_text(name, safe="[]") + sep + value
        return self.text("".join(pieces))

    def _encoded_text(self, encoded: str, safe: str, plus: bool = True) -> str:
        """`text` on the decoded form of a percent-encoded string (`sk%5Ftest%5F...` is a key too); the
        string is re-encoded only when something was redacted."""
        if "%" not in encoded and not (plus and "+" in encoded):
            return self.text(encoded)
        plain = _unquote(encoded) if plus else unquote(encoded, errors="surrogateescape")
        redacted = self.text(plain)
        if redacted == plain:
            return encoded
        return (quote_plus if plus else quote)(redacted, safe=safe, errors="surrogateescape")

    def path(self, path: str) -> str:
        """A URL path with token shapes redacted, percent-encoded ones too, segment by segment."""
        return "/".join(self._encoded_text(segment, safe=_PATH_SAFE, plus=False) for segment in path.split("/"))

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
        text = body.decode("utf-8", "surrogateescape") if body else ""
        kind = (content_type or "").split(";")[0].strip().lower()
        forms = [query] + ([text] if kind == "application/x-www-form-urlencoded" else [])
        for form in forms:
            found.update(v for k, v in query_pairs(form) if self.secret_name(_base_name(k)))
        if kind.startswith("multipart/"):
            found.update(text[start:end] for name, start, end in _multipart_values(text, content_type)
                         if self.secret_name(name))
        elif text and (kind.endswith("json") or text.lstrip()[:1] in ("{", "[")):
            try:
                found.update(self._json_secrets(json.loads(text)))
            except (ValueError, RecursionError):
                pass
        return frozenset(v for v in found if self.looks_secret(v))

    def looks_secret(self, value: str) -> bool:
        """Whether a secret-named value is worth scrubbing wherever it appears: token-shaped, or at least
        12 characters and not one plain word. `session=default` or a short password must not turn every
        `default` (a JSON key, a word in a ticket) of the answer into REDACTED; such values are still
        redacted where they were sent, by their name."""
        if not value or MARK in value:
            return False
        if self._token.search(value):
            return True
        return len(value) >= 12 and not _PLAIN_WORD.fullmatch(value)

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
        """`data` with every known secret value replaced, however it is spelled: each character as
        itself, percent-encoded (either case of hex, `+` for a space) or escaped as JSON spells it."""
        secrets = self._scrubbed(known)
        if not data or not secrets:
            return data
        if b"%" not in data and b"\\" not in data and (b"+" not in data or not _spaced(secrets)):
            # Only the literal spelling is possible (`+` spells only a space): plain replaces, not the
            # spelled-out alternation.
            for secret in secrets:
                encoded = _encode(secret)
                if encoded in data:
                    data = data.replace(encoded, MARK.encode())
            return data
        return _spelled_pattern(secrets, True).sub(MARK.encode(), data)

    def scrub_text(self, text: str, known: frozenset[str]) -> str:
        """`scrub` for a string (a header value, a query string, a path)."""
        secrets = self._scrubbed(known)
        if not text or not secrets:
            return text
        if "%" not in text and "\\" not in text and ("+" not in text or not _spaced(secrets)):
            for secret in secrets:
                if secret in text:
                    text = text.replace(secret, MARK)
            return text
        return _spelled_pattern(secrets, False).sub(MARK, text)

    def _scrubbed(self, known: frozenset[str]) -> tuple[str, ...]:
        found = self._scrubbed_cache.get(known)
        if found is None:  # asked several times per exchange with the same set (path, query, headers, body)
            if len(self._scrubbed_cache) >= 256:  # the sets hold what agents send: bounded, not an LRU
                self._scrubbed_cache.clear()
            found = tuple(sorted((s for s in known if self.looks_secret(s)), key=lambda s: (-len(s), s)))
            self._scrubbed_cache[known] = found
        return found

    # -- whole messages -----------------------------------------------------------------------------

    def request(self, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes,
                content_type: str | None, known: frozenset[str] = frozenset()
                ) -> tuple[str, str, list[tuple[str, str]], bytes]:
        """A request's path, query, headers and body as a recording keeps them: secret names and
        token shapes redacted, then every known secret scrubbed wherever it still is."""
        return (self.scrub_text(self.path(path), known),
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
        """`data` with secrets replaced. Bytes that are not UTF-8 (one Latin-1 letter, a binary file in a
        multipart form) are read with each stray byte kept as itself (surrogateescape), so the rest is
        redacted all the same and written back byte for byte."""
        if not data:
            return data
        original = data.decode("utf-8", "surrogateescape")
        text = original
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            text = self.query(text)
        elif kind.startswith("multipart/"):
            text = self._multipart(text, content_type)
        elif kind == "text/event-stream":
            text = "".join(self._sse_line(line) for line in text.splitlines(keepends=True))
        elif kind in _JSON_LINES:
            text = "".join(self._json(line) for line in text.splitlines(keepends=True))
        elif kind.endswith("json") or text.lstrip()[:1] in ("{", "["):  # JSON sent as text/plain too
            text = self._json(text)
        redacted = self.text(text)
        return data if redacted == original else _encode(redacted)

    def _multipart(self, text: str, content_type: str | None) -> str:
        """The values of secret-named parts replaced; boundaries, part headers and other parts kept."""
        spans = [(start, end) for name, start, end in _multipart_values(text, content_type)
                 if start < end and self.secret_name(name)]
        for start, end in reversed(spans):
            text = text[:start] + MARK + text[end:]
        return text

    def _sse_line(self, line: str) -> str:
        if line.startswith("data:"):
            payload = line[5:]
            return "data:" + self._json(payload) if payload.strip()[:1] in ("{", "[") else line
        return line

    def _json(self, text: str) -> str:
        if not self._fields and "\\" not in text:
            lowered = text.lower()
            if not any(fragment in lowered for fragment in _NAME_FRAGMENTS):
                return text  # no secret-named field in it (and no escape to hide one): nothing to parse
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return text
        strings: list[str] = []
        numbers = self._json_fields(doc, False, strings)
        for secret in sorted(set(strings), key=len, reverse=True):
            # Replace the string as it is spelled in the text, inside its quotes: formatting kept.
            for spelled in {json.dumps(secret), json.dumps(secret, ensure_ascii=False)}:
                text = text.replace(spelled, json.dumps(MARK))
        # Where replacing spellings is not enough: a secret-named number (`{"pin": 12345678}`), a secret
        # spelled with escapes, or a token spelled with them (`sk\u005ftest_...`: only \u and \/ can be in one).
        escaped = "\\" in text and (bool(strings) or (("\\u" in text or "\\/" in text) and self._json_tokens(doc)))
        return self._json_by_span(text) if numbers or escaped else text

    def _json_fields(self, doc: object, secret: bool, strings: list[str]) -> bool:
        """Adds the secret-named fields' strings (at any depth below the name) to `strings`; whether
        there is a secret-named number too."""
        if isinstance(doc, dict):
            found = [self._json_fields(v, secret or self.secret_name(str(k)), strings) for k, v in doc.items()]
            return any(found)
        if isinstance(doc, list):
            return any([self._json_fields(v, secret, strings) for v in doc])
        if secret and isinstance(doc, str) and doc and doc != MARK:
            strings.append(doc)
        return secret and isinstance(doc, (int, float)) and not isinstance(doc, bool)

    def _json_tokens(self, doc: object) -> bool:
        if isinstance(doc, dict):
            return any(self._json_tokens(v) for v in doc.values())
        if isinstance(doc, list):
            return any(self._json_tokens(v) for v in doc)
        return isinstance(doc, str) and bool(self._token.search(doc))

    def _json_by_span(self, text: str) -> str:
        """Values replaced where they stand in the text: secret-named numbers and strings become
        "REDACTED", other strings get `text` on their decoded value; everything else kept as written."""
        spans: list[tuple[int, int, str | None, bool]] = []
        try:
            _json_values(text, 0, False, self.secret_name, spans)
        except (ValueError, IndexError, RecursionError):
            return text
        for start, end, value, secret in reversed(spans):
            if secret and value != MARK:
                spelled = json.dumps(MARK)
            elif value is not None and not secret:
                redacted = self.text(value)
                if redacted == value:
                    continue
                spelled = json.dumps(redacted, ensure_ascii=False)
                if _LONE_SURROGATE.search(spelled):  # from a \ud800 escape: not writable as UTF-8
                    spelled = json.dumps(redacted)
            else:
                continue
            text = text[:start] + spelled + text[end:]
        return text

    def _json_secrets(self, doc: object) -> list[str]:
        strings: list[str] = []
        self._json_fields(doc, False, strings)
        return strings

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


# What every built-in token has, for `_prefilter`: a run of 15+ of [A-Za-z0-9_-] (vendor keys, the
# fakes' keys), or `eyJ` (a JWT), a `bearer`, a `-----BEGIN`. Checked kind by kind: a new kind in
# TOKEN_PATTERNS turns the prefilter off until it is added here, after checking that it fits.
_PREFILTERED_KINDS = frozenset({"stripe key", "github token", "slack token", "openai/anthropic key",
                                "aws access key id", "google api key", "jwt", "bearer token", "private key"})


# Every token of a prefiltered kind holds one of these (lower-cased): stripe `_live_`/`_test_`,
# github `gh[pousr]_`/`github_pat_`, slack `xox?`/`xapp`, `sk-`, aws `AKIA`/`ASIA`, google `AIza`,
# a JWT's `eyJ`, `bearer`, a PEM header. The fakes' own key prefixes are added to them.
_TOKEN_LITERALS = ("_live_", "_test_", "whsec_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "xapp",
                   "sk-", "akia", "asia", "aiza", "eyj", "bearer", "-----begin")


def _prefilter(patterns: tuple[str, ...]) -> tuple[str, ...] | None:
    """Substrings (lower-cased) one of which every token-shaped string holds, or None if there is no
    such list (configured patterns, a kind added to TOKEN_PATTERNS without a literal here)."""
    import services

    if patterns or set(TOKEN_PATTERNS) - _PREFILTERED_KINDS:
        return None
    prefixes = [services.get_service(s).key_prefix or "" for s in _registered()]
    if any(not prefix for prefix in prefixes):
        return None  # a fake whose keys have no prefix: only the full alternation can find them
    return tuple(dict.fromkeys((*_TOKEN_LITERALS, *(prefix.lower() for prefix in prefixes))))


def _keep_scheme(match: re.Match) -> str:
    found = match.group(0)
    if found[:6].lower() == "bearer":
        return found.split(None, 1)[0] + " " + MARK
    if found.startswith("-----BEGIN"):
        return MARK
    # Keep a vendor prefix (sk_test_, ghp_, xoxb-, zdt_), so the recording still says what kind of key it was.
    prefix = _vendor_prefix().match(found)
    return (prefix.group(0) if prefix else "") + MARK


_QUERY_SEPARATOR = re.compile(r"([&;])")
_PATH_SAFE = "/:@!$&'()*+,;=~-._"
# One word (`default`, `Administrator`; dictionary words are rarely longer): not scrubbed everywhere.
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]{0,14}")
_JSON_LINES = ("application/x-ndjson", "application/jsonl", "application/stream+json")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                 "\t": "\\t"}
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _encode(text: str) -> bytes:
    """Text read with surrogateescape back to its bytes (a lone surrogate from a JSON escape kept too)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _hex(byte: int) -> str:
    return "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{byte:02X}")


def _spelled_char(char: str) -> str:
    """A regular expression for one character of a secret as any recording could spell it."""
    options = [re.escape(char), "".join("%" + _hex(b) for b in _encode(char))]
    if char == " ":
        options.append(r"\+")
    if char in _JSON_ESCAPES:
        options.append(re.escape(_JSON_ESCAPES[char]))
    # JSON's \uXXXX, a surrogate pair beyond the BMP; hex digits in either case.
    codes = [ord(char)] if ord(char) < 0x10000 else [0xD800 + ((ord(char) - 0x10000) >> 10),
                                                      0xDC00 + ((ord(char) - 0x10000) & 0x3FF)]
    options.append("".join(r"\\u" + _hex(c >> 8) + _hex(c & 0xFF) for c in codes))
    return "(?:" + "|".join(options) + ")"


def _spaced(secrets: tuple[str, ...]) -> bool:
    return any(" " in secret for secret in secrets)


@functools.lru_cache(maxsize=64)
def _spelled_pattern(secrets: tuple[str, ...], binary: bool) -> re.Pattern:
    """One pattern for all `secrets` (longest first), each character as `_spelled_char` allows."""
    pattern = "|".join("(?:" + "".join(_spelled_char(c) for c in s) + ")" for s in secrets)
    return re.compile(_encode(pattern) if binary else pattern)


def _json_values(text: str, i: int, secret: bool, secret_name, out: list) -> int:
    """Walk the JSON value at `i`, adding (start, end, value, secret) for each string (value: the decoded
    string) and number (value: None) to `out` (`secret`: under a secret-named key); the end of the value.
    Raises ValueError on bad JSON."""
    i = _WHITESPACE.match(text, i).end()
    char = text[i:i + 1]
    if char in ("{", "["):
        close = "}" if char == "{" else "]"
        i = _WHITESPACE.match(text, i + 1).end()
        if text[i:i + 1] == close:
            return i + 1
        while True:
            inner = secret
            if char == "{":
                if text[i:i + 1] != '"':
                    raise ValueError("object key expected")
                key, i = scanstring(text, i + 1)
                i = _WHITESPACE.match(text, i).end()
                if text[i:i + 1] != ":":
                    raise ValueError("':' expected")
                i += 1
                inner = secret or secret_name(key)
            i = _WHITESPACE.match(text, _json_values(text, i, inner, secret_name, out)).end()
            if text[i:i + 1] == close:
                return i + 1
            if text[i:i + 1] != ",":
                raise ValueError("',' expected")
            i = _WHITESPACE.match(text, i + 1).end()
    if char == '"':
        value, end = scanstring(text, i + 1)
        out.append((i, end, value, secret))
        return end
    number = NUMBER_RE.match(text, i)
    if number:
        out.append((i, number.end(), None, secret))
        return number.end()
    for literal in ("true", "false", "null"):
        if text.startswith(literal, i):
            return i + len(literal)
    raise ValueError(f"unexpected {char!r}")


def _multipart_values(text: str, content_type: str | None) -> Iterator[tuple[str, int, int]]:
    """(name, start, end) of each part's value in a multipart/form-data body."""
    found = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.IGNORECASE)
    if not found:
        return
    delimiter = "--" + (found.group(1) or found.group(2))
    at = text.find(delimiter)
    while at != -1:
        start = at + len(delimiter)
        following = text.find(delimiter, start)
        if text.startswith("--", start) or following == -1:
            return
        end = following - (2 if text[following - 2:following] == "\r\n" else 1 if text[following - 1] == "\n" else 0)
        head = text.find("\r\n\r\n", start, end)
        value_at = head + 4
        if head == -1:
            head = text.find("\n\n", start, end)
            value_at = head + 2
        if head != -1:
            name = re.search(r'content-disposition:[^\n]*?;\s*name=(?:"([^"]*)"|([^;\s]+))', text[start:head],
                             re.IGNORECASE)
            if name:
                yield name.group(1) if name.group(1) is not None else name.group(2), value_at, end
        at = following


def _cookie_pair(pair: str) -> str:
    name, sep, _ = pair.strip().partition("=")
    return f"{name}={MARK}" if sep else pair.strip()


def _unquote(value: str) -> str:
    return unquote_plus(value, errors="surrogateescape")


def _base_name(name: str) -> str:
    """`metadata[api_key]` -> `api_key`: form fields in Stripe's bracket notation."""
    return name.rstrip("]").rsplit("[", 1)[-1] if name.endswith("]") else name


def query_pairs(query: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs, split at `&` and `;` as `Redactor.query` splits them."""
    pairs = []
    for part in re.split(r"[&;]", query):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_unquote(name), _unquote(value)))
    return pairs
