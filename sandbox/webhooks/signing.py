"""The vendors' webhook signatures, computed as their SDKs verify them.

Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`
(`stripe.Webhook.construct_event`). Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
"v0:<ts>:<body>")>` with `X-Slack-Request-Timestamp: <ts>` (`slack_sdk.signature.SignatureVerifier`).

The timestamp is wall time, not the episode clock: both SDKs refuse a signature older than five
minutes by the receiver's own clock (replay protection), so a timestamp from the episode clock (which
starts in January 2026) would make every correct receiver reject every delivery. Event bodies and
ids stay on the episode clock.
"""

from __future__ import annotations

import hashlib
import hmac


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def stripe_signature(secret: str, payload: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header for `payload` sent at `timestamp`."""
    return f"t={timestamp},v1={_hex_hmac(secret, str(timestamp).encode() + b'.' + payload)}"


def slack_signature(signing_secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Slack-Signature` header for `body` sent at `timestamp` (also sent as X-Slack-Request-Timestamp)."""
    return "v0=" + _hex_hmac(signing_secret, b"v0:" + str(timestamp).encode() + b":" + body)
