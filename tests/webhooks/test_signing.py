"""The signatures are the vendors' own: their SDKs' verifiers accept them, and reject a changed body."""

from __future__ import annotations

import time

import pytest
import stripe
from slack_sdk.signature import SignatureVerifier

from sandbox.webhooks.signing import slack_signature, stripe_signature

SECRET = "whsec_" + "a1" * 16
BODY = b'{"id": "evt_1", "object": "event", "type": "charge.refunded", "data": {"object": {}}}'


def test_stripe_sdk_verifies_the_stripe_signature():
    now = int(time.time())
    event = stripe.Webhook.construct_event(BODY, stripe_signature(SECRET, BODY, now), SECRET)
    assert event.id == "evt_1" and event.type == "charge.refunded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(BODY.replace(b"evt_1", b"evt_2"), stripe_signature(SECRET, BODY, now), SECRET)
    with pytest.raises(stripe.SignatureVerificationError):  # the SDK's replay window: why t is wall time
        stripe.Webhook.construct_event(BODY, stripe_signature(SECRET, BODY, now - 3600), SECRET)


def test_slack_sdk_verifies_the_slack_signature():
    secret = "0123456789abcdef0123456789abcdef"
    now = int(time.time())
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid(BODY, str(now), slack_signature(secret, BODY, now))
    assert not verifier.is_valid(BODY + b" ", str(now), slack_signature(secret, BODY, now))
    assert not verifier.is_valid(BODY, str(now), slack_signature("f" * 32, BODY, now))
