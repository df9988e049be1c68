"""The episode clock and stable ids: time and identity come from the seed, never from the wall.

The clock is logical: an episode starts at `EPISODE_START` and every exchange advances it by
`STEP_SECONDS`, so exchange n happens at start + n * step. The same agent run gives the same
`created` timestamps, whatever the machine's speed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

# 2026-01-15T09:00:00Z: the instant every episode's clock starts at.
EPISODE_START = int(datetime(2026, 1, 15, 9, 0, 0, tzinfo=UTC).timestamp())
STEP_SECONDS = 1

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def episode_time(exchange_seq: int, start: int = EPISODE_START) -> int:
    """Unix seconds on the episode clock at the exchange with sequence number `exchange_seq`."""
    return start + exchange_seq * STEP_SECONDS


def stable_token(*parts: object, length: int = 14) -> str:
    """A base62 string derived only from `parts`: same parts, same token, in any process."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, 62)
        chars.append(_ALPHABET[index])
    return "".join(chars)


def stable_id(prefix: str, *parts: object, length: int = 14) -> str:
    """A vendor-style id such as `cus_Nffr...`, derived from the seed and a counter."""
    return f"{prefix}_{stable_token(prefix, *parts, length=length)}"


def stable_number(*parts: object, low: int = 1, high: int = 10**12) -> int:
    """An integer in [low, high) derived only from `parts`, for vendors whose ids are numbers."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low)
