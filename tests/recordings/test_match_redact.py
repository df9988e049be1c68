"""Matching rules and redaction, on their own."""

from __future__ import annotations

import base64

import pytest

from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, Recording, RecordingError, new_header
from sandbox.recordings.match import Cursor, Index, Miss, RequestView
from sandbox.recordings.redact import MARK, Redactor


def index(*bodies: bytes, match=None) -> Index:
    exchanges = [Exchange(RecordedRequest("POST", "api.x.com", "/v1/a", body=b, headers=[("Content-Type",
                          "application/json")]), RecordedResponse(200, body=b"answer %d" % i), seq=i)
                 for i, b in enumerate(bodies, 1)]
    return Index(Recording(new_header(match=match or {}), exchanges))


def view(body: bytes) -> RequestView:
    return RequestView.of("POST", "https", "api.x.com", 443, "/v1/a", "", body, "application/json")


def test_json_paths_and_patterns_make_fields_volatile():
    idx = index(b'{"at": "2026-01-01T00:00:00Z", "items": [{"id": "a1", "n": 1}]}',
                match={"ignore": ["$.items[*].id"], "ignore_patterns": [r"\d{4}-\d\d-\d\dT.*Z"]})
    found = idx.lookup(view(b'{"items": [{"n": 1, "id": "zz"}], "at": "2030-05-05T10:00:00Z"}'), Cursor())
    assert isinstance(found, Exchange) and found.response.body == b"answer 1"
    missed = idx.lookup(view(b'{"items": [{"n": 2, "id": "zz"}], "at": "x"}'), Cursor())
    assert isinstance(missed, Miss)
    assert missed.closest[0]["differences"] == ["body $.at: 'x' != recorded '<ignored>'",
                                                "body $.items[0].n: 2 != recorded 1"]


def test_a_bad_json_path_in_the_header_is_named():
    with pytest.raises(RecordingError, match="cannot parse JSON path"):
        index(b"{}", match={"ignore": ["$.a[x"]})


def test_the_agents_own_secret_does_not_stop_a_match():
    redactor = Redactor()
    recorded = redactor.body(b'{"api_key": "sk_test_aaaaaaaaaaaaaaaa", "q": 1}', "application/json")
    idx = index(recorded)
    assert isinstance(idx.lookup(view(b'{"q": 1, "api_key": "sk_test_bbbbbbbbbbbbbbbb"}'), Cursor()), Exchange)


def test_redaction_keeps_bodies_byte_identical_where_there_is_no_secret():
    redactor = Redactor(fields=("x-tenant",), patterns=(r"ACME-\d{6}",))
    body = b'{\n  "name": "a",   "token": "t0k3n-value",  "note": "ref ACME-123456"\n}'
    assert redactor.body(body, "application/json") == (
        b'{\n  "name": "a",   "token": "REDACTED",  "note": "ref REDACTED"\n}')
    assert redactor.body(b'{"name": "a"}', "application/json") == b'{"name": "a"}'
    assert redactor.headers([("X-Tenant", "t1"), ("Set-Cookie", "sid=abc; Path=/; HttpOnly")]) == [
        ("X-Tenant", "REDACTED"), ("Set-Cookie", "sid=REDACTED; Path=/; HttpOnly")]
    assert redactor.query("a=1&password=p%40ss&metadata[secret]=s") == "a=1&password=REDACTED&metadata[secret]=REDACTED"
    assert redactor.text("key ghp_" + "a" * 36 + " end") == "key ghp_REDACTED end"


def sandbox_keys() -> dict[str, str]:
    """A key for every registered fake, shaped as EpisodeStore makes them (prefix + token_urlsafe(18)),
    with the '-' and '_' that token_urlsafe gives."""
    import services

    return {services.get_service(service).key_prefix: f"Zr9-qX_bT2mK-{i}Lw8_vHsYd3n"
            for i, service in enumerate(services._MODULES)}


def test_the_sandboxs_own_keys_are_token_shaped_for_every_fake():
    redactor = Redactor()
    for prefix, rest in sandbox_keys().items():
        text = f"pasted {prefix}{rest} here, and glued api_key_{prefix}{rest}."
        redacted = redactor.text(text)
        assert "Zr9-qX" not in redacted and "vHsYd3n" not in redacted, redacted
        assert redacted.startswith(f"pasted {prefix}REDACTED here")  # the prefix says what kind of key it was
        assert [f.where for f in redactor.findings(text, "body")] == ["body", "body"]


def test_real_vendor_token_formats_are_redacted():
    redactor = Redactor()
    for token in ("ghp_" + "a1B2" * 9, "github_pat_11ABCDEFG0_" + "x" * 59, "xoxb-1234567890-0987654321-AbCdEf_gh",
                  "xoxe.xoxp-1-Mi0yLTE3MjQ4NjQ", "xapp-1-A0123BCDE-12345678-abcdef0123"):
        assert MARK not in token and token not in redactor.text(f"x {token} y") and MARK in redactor.text(token)


def test_basic_credentials_are_decoded_into_known_secrets():
    redactor = Redactor()
    zendesk = base64.b64encode(b"agent@acme.test/token:plain-zendesk-token-123").decode()
    known = redactor.known_secrets([("Authorization", f"Basic {zendesk}")], "", b"", None)
    assert known == {zendesk, "plain-zendesk-token-123"}  # the address is not a key: kept as sent
    stripe = base64.b64encode(b"sk_test_Zr9-qX_bT2mK-cLw8_vHs:").decode()
    assert "sk_test_Zr9-qX_bT2mK-cLw8_vHs" in redactor.known_secrets([("authorization", f"basic {stripe}")], "",
                                                                      b"", None)
    scrubbed = redactor.scrub_text("q=plain-zendesk-token-123&r=plain%2Dzendesk", known)
    assert scrubbed == "q=REDACTED&r=plain%2Dzendesk"


def test_a_bad_redact_pattern_names_itself_and_where_it_came_from():
    with pytest.raises(RecordingError, match=r"--redact-pattern: redact pattern '\(' is not a regular expression"):
        Redactor(patterns=("ok-\\d+", "("), where="--redact-pattern")
    with pytest.raises(RecordingError, match=r"r\.jsonl:1: redact\.patterns: redact pattern '\[a' is not"):
        Redactor.from_config({"patterns": ["[a"]}, "r.jsonl:1")
    with pytest.raises(RecordingError, match=r"r\.jsonl:1: redact.fields should be a list"):
        Redactor.from_config({"fields": "token"}, "r.jsonl:1")
