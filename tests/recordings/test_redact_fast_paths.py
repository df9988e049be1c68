"""The redactor's shortcuts (a literal prefilter for token shapes, no JSON parse without a secret-like
name, plain replaces when no escape can spell a secret) redact exactly what the full path does."""

from __future__ import annotations

import json

import pytest

from sandbox.recordings.redact import MARK, Redactor

REDACTOR = Redactor()
STRIPE_ANSWER = json.dumps({"id": "cus_9nFPIEQBBeGaExAbCdEf", "object": "customer", "email": "ana@example.com",
                            "invoice_prefix": "A1B2C3D4E5F6G7H8", "phone": "+1-555-0100", "livemode": False})


def test_an_answer_full_of_long_ids_and_no_secret_is_left_alone():
    assert REDACTOR.body(STRIPE_ANSWER.encode(), "application/json") == STRIPE_ANSWER.encode()
    assert REDACTOR.scrub(STRIPE_ANSWER.encode(), frozenset({"sk_test_abcdefghijklmnopqrstu"})) == \
        STRIPE_ANSWER.encode()


@pytest.mark.parametrize("token", ["sk_test_0123456789abcdefXYZ", "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
                                   "xoxb-123456789012-abcdefABCDEF", "sk-ant-api03-0123456789abcdefghijkl",
                                   "AKIAABCDEFGHIJKLMNOP", "AIza" + "x" * 35, "zdt_0123456789abcdefghij",
                                   "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlMTIz"])
def test_every_token_kind_still_gets_past_the_prefilter(token):
    for text in (f"a note with {token} inside", f"UPPER {token.upper()} CASE" if token.startswith("AKIA") else token):
        assert MARK in REDACTOR.text(text), text


def test_a_bearer_in_any_case_is_redacted():
    assert REDACTOR.text("header BeArEr abcdefghijklmnopqrstuvwxyz0123") == "header BeArEr " + MARK


def test_a_secret_with_a_space_spelled_with_plus_is_scrubbed_without_a_percent_in_sight():
    secret = "correct horse battery staple"
    body = b"q=correct+horse+battery+staple&x=1"
    assert REDACTOR.scrub(body, frozenset({secret})) == b"q=" + MARK.encode() + b"&x=1"


def test_a_secret_named_field_is_found_by_the_json_path():
    body = json.dumps({"customer": "cus_1", "client_secret": "pi_3_secret_abcdef"}).encode()
    assert json.loads(REDACTOR.body(body, "application/json"))["client_secret"] == MARK
    escaped = b'{"client\\u005fsecret": "pi_3_secret_abcdef"}'  # the name hidden behind an escape
    assert b"pi_3_secret_abcdef" not in REDACTOR.body(escaped, "application/json")
