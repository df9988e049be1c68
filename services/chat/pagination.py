"""Slack's cursor pagination: `limit` + `cursor` in, `response_metadata.next_cursor` out.

A cursor is opaque base64 naming the first item of the next page, as Slack's are:
`bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz` is `next_ts:1512085861000543` (history, replies),
`dGVhbTpDMDYxRkE1UEI=` is `team:C061FA5PB` (conversations.list), `user:U0G9WFXNZ` for users.list,
`{user_id: W1234567}` for conversations.members. The last page says `"next_cursor": ""`, which is
where slack_sdk's `for page in client.conversations_history(...)` stops.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from services.chat.errors import SlackError
from services.chat.params import Args


@dataclass(frozen=True)
class Limits:
    default: int
    maximum: int


# Slack's documented defaults and ceilings per method (a bigger limit is served as the ceiling).
HISTORY = Limits(100, 999)
REPLIES = Limits(1000, 1000)
CHANNELS = Limits(100, 1000)
MEMBERS = Limits(100, 1000)
USERS = Limits(0, 1000)  # users.list without a limit answers everyone at once

_FORMATS = {"next_ts": r"\d{1,19}", "team": r"[A-Z0-9]{1,32}", "user": r"[A-Z0-9]{1,32}"}


def limit(args: Args, limits: Limits) -> int:
    """The page size: absent or 0 (or less) means the method's default, over the ceiling the ceiling."""
    value = args.integer("limit")
    if value is None or value <= 0:
        return limits.default
    return min(value, limits.maximum)


def encode(kind: str, value: str) -> str:
    text = f"{{user_id: {value}}}" if kind == "user_id" else f"{kind}:{value}"
    return base64.b64encode(text.encode()).decode()


def decode(args: Args, kind: str) -> str | None:
    """The position a `cursor` argument names, None without one; a cursor of another method, or
    not one at all, is Slack's `invalid_cursor`."""
    cursor = args.string("cursor")
    if not cursor:
        return None
    try:
        text = base64.b64decode(cursor.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None
    if kind == "user_id":
        match = re.fullmatch(r"\{user_id: ([A-Z0-9]{1,32})\}", text)
    else:
        match = re.fullmatch(rf"{kind}:({_FORMATS[kind]})", text)
    if match is None:
        raise SlackError("invalid_cursor")
    return match.group(1)


def metadata(kind: str, next_value: str | None) -> dict[str, dict[str, str]]:
    return {"response_metadata": {"next_cursor": encode(kind, next_value) if next_value else ""}}
