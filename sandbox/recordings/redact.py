"""Secrets never reach a recording: redaction before anything is written, and a scan that checks.

What is redacted (the value becomes `REDACTED`, the name stays, so a diff still says what was sent):
- headers that carry credentials: Authorization (its scheme kept: `Bearer REDACTED`), Cookie and
  Set-Cookie (cookie names and attributes kept), and any header whose name says key, token,
  secret, password, signature, session or auth;
- query parameters, form fields and JSON fields with such a name, at any depth;
- anywhere in any text: token-shaped strings (`TOKEN_PATTERNS`: Stripe, GitHub, Slack, OpenAI and
  Anthropic keys, AWS access key ids, Google API keys, JWTs, bearer tokens, private keys);
- configurable: more field names (`fields`) and regular expressions (`patterns`).

Bodies are edited in place as text, never re-serialised: a body with nothing to redact stays
byte-identical, and one with a secret differs only where the secret was (a JSON string value is
replaced inside its quotes). A redacted secret in a response is replayed redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote_plus

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
    "github token": r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
    "slack token": r"\bxox[abprse]-[A-Za-z0-9\-]{10,}",
    "openai/anthropic key": r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",
    "aws access key id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "google api key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    "bearer token": r"\b[Bb](?i:earer)\s+(?!REDACTED)[A-Za-z0-9._~+/=\-]{16,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
}

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str
    sample: str  # the start of the match, enough to find it, not enough to use it


@dataclass
class Redactor:
    fields: tuple[str, ...] = ()  # more names to redact in headers, query, form and JSON
    patterns: tuple[str, ...] = ()  # more regular expressions to redact anywhere
    _token: re.Pattern = field(init=False, repr=False)
    _fields: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        alternatives = list(TOKEN_PATTERNS.values()) + list(self.patterns)
        self._token = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self._fields = frozenset(f.lower() for f in self.fields)

    def config(self) -> dict[str, list[str]]:
        """What a recording header stores, so replay normalises requests the same way."""
        return {"fields": list(self.fields), "patterns": list(self.patterns)}

    @classmethod
    def from_config(cls, config: dict | None) -> Redactor:
        config = config or {}
        return cls(tuple(config.get("fields") or ()), tuple(config.get("patterns") or ()))

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
                found.add(value.partition(" ")[2] or value)
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

    def scrub(self, data: bytes, known: frozenset[str]) -> bytes:
        """`data` with every known secret value replaced (as is, and as it is spelled inside JSON)."""
        if not data or not known:
            return data
        for secret in sorted(known, key=len, reverse=True):
            for spelled in {secret, json.dumps(secret)[1:-1]}:
                data = data.replace(spelled.encode("utf-8"), MARK.encode())
        return data

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
            kind = next((k for k, p in TOKEN_PATTERNS.items() if re.fullmatch(p, found)), "configured pattern")
            out.append(Finding(kind, where, found[:8] + "…"))
        return out


def _keep_scheme(match: re.Match) -> str:
    found = match.group(0)
    if found[:6].lower() == "bearer":
        return found.split(None, 1)[0] + " " + MARK
    if found.startswith("-----BEGIN"):
        return MARK
    # Keep a vendor prefix (sk_test_, ghp_, xoxb-), so the recording still says what kind of key it was.
    prefix = re.match(r"^(?:(?:sk|rk|pk|whsec)_(?:live|test)_|gh[pousr]_|github_pat_|xox[abprse]-|sk-)", found)
    return (prefix.group(0) if prefix else "") + MARK


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
