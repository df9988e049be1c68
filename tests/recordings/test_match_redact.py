"""Matching rules and redaction, on their own."""

from __future__ import annotations

import pytest

from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, Recording, RecordingError, new_header
from sandbox.recordings.match import Cursor, Index, Miss, RequestView
from sandbox.recordings.redact import Redactor


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
