"""The chat world of a seed: the workspace, its people, channels, memberships and history.

The bot user the episode's token belongs to is `world.chat.bot_id`; it gets a bot id (B...) and an
app id (A...) derived from the seed, as a Slack app's bot user has. Messages the agent posts later
get their `ts` from the episode clock (see `store.new_ts`).
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from sandbox.clock import stable_token
from sandbox.world import World
from services.chat.store import message_id, ts_key

# Slack's labels and offsets in January (the episode clock's month), for the world's time zones.
TIMEZONES: dict[str, tuple[str, int]] = {
    "America/New_York": ("Eastern Standard Time", -18000),
    "America/Chicago": ("Central Standard Time", -21600),
    "America/Los_Angeles": ("Pacific Standard Time", -28800),
    "Europe/London": ("Greenwich Mean Time", 0),
}
SLACKBOT = "USLACKBOT"


def schema_statements() -> list[str]:
    # One statement at a time: `executescript` would commit the builder's open transaction.
    text = resources.files(__package__).joinpath("schema.sql").read_text()
    lines = [line.partition("--")[0] for line in text.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def team_id(seed: int) -> str:
    return "T0" + stable_token("chat-team", seed, length=9).upper()


def _hex(*parts: object, length: int) -> str:
    return "".join(f"{ord(c):02x}" for c in stable_token(*parts, length=length))[:length]


def _user(conn: sqlite3.Connection, **values: object) -> None:
    names = ", ".join(values)
    conn.execute(f"INSERT INTO users ({names}) VALUES ({', '.join('?' for _ in values)})", tuple(values.values()))


def build_template(conn: sqlite3.Connection, world: World) -> None:
    """Create the tables and insert the chat world of `world.seed` (inside the caller's transaction)."""
    assert world.chat is not None and world.org is not None, "world without chat: sandbox/world/__init__.py"
    for statement in schema_statements():
        conn.execute(statement)
    chat, org = world.chat, world.org
    created = min(c.created for c in chat.channels) - 86400
    team = team_id(world.seed)
    conn.execute(
        "INSERT INTO team (id, name, domain, email_domain, bot_user, bot_id, app_id, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            team,
            org.name,
            org.slug,
            org.domain,
            chat.bot_id,
            "B0" + stable_token("chat-bot-id", world.seed, length=9).upper(),
            "A0" + stable_token("chat-app-id", world.seed, length=9).upper(),
            created,
        ),
    )
    for s in world.staff:
        first, _, last = s.name.partition(" ")
        label, offset = TIMEZONES.get(s.timezone, ("Coordinated Universal Time", 0))
        _user(
            conn,
            id=s.chat_id,
            name=s.handle,
            real_name=s.name,
            display_name=s.handle,
            first_name=first,
            last_name=last,
            email=s.email,  # never s.personal_email: that one is private
            title=s.title,
            tz=s.timezone,
            tz_label=label,
            tz_offset=offset,
            color=_hex("color", world.seed, s.chat_id, length=6),
            avatar_hash=_hex("avatar", world.seed, s.chat_id, length=12),
            is_admin=int(s.role == "lead"),
            is_owner=int(s.role == "lead"),
            updated=created,
        )
    bot_id, app_id = conn.execute("SELECT bot_id, app_id FROM team").fetchone()
    # The agent's bot user, and Slackbot, which every workspace lists among its users.
    others = ((chat.bot_id, chat.bot_name, chat.bot_name, True), (SLACKBOT, "slackbot", "Slackbot", False))
    for user_id, name, real, bot in others:
        _user(
            conn,
            id=user_id,
            name=name,
            real_name=real,
            display_name="" if bot else real,
            tz="America/Los_Angeles",
            tz_label="Pacific Standard Time",
            tz_offset=-28800,
            color="757575",
            avatar_hash=_hex("avatar", world.seed, user_id, length=12),
            is_bot=int(bot),
            bot_id=bot_id if bot else None,
            app_id=app_id if bot else None,
            updated=created,
        )
    for c in chat.channels:
        conn.execute(
            "INSERT INTO channels (id, name, topic, purpose, is_private, is_general, creator, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (c.id, c.name, c.topic, c.topic, int(c.is_private), int(c.name == "general"), c.creator_id, c.created),
        )
        for user in c.member_ids:
            conn.execute(
                "INSERT INTO members (id, channel, user, joined) VALUES (?, ?, ?, ?)",
                (f"{c.id}/{user}", c.id, user, c.created),
            )
    roots = {(m.channel_id, m.thread_ts) for m in chat.messages if m.thread_ts}
    private = {c.id for c in chat.channels if c.is_private}
    for m in chat.messages:
        thread_ts = m.thread_ts or (m.ts if (m.channel_id, m.ts) in roots else None)
        conn.execute(
            "INSERT INTO messages (id, channel, channel_private, ts, ts_key, user, text, thread_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id(m.channel_id, m.ts), m.channel_id, int(m.channel_id in private), m.ts, ts_key(m.ts),
             m.user_id, m.text, thread_ts),
        )
        n = 0
        for name, users in m.reactions:
            for user in users:
                n += 1
                conn.execute(
                    "INSERT INTO reactions (id, channel, ts, name, user, n) VALUES (?, ?, ?, ?, ?, ?)",
                    (f"{message_id(m.channel_id, m.ts)}/{name}/{user}", m.channel_id, m.ts, name, user, n),
                )
