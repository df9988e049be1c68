"""The team's chat: channels, members and message history, with the triage thread tasks start from.

Channel and user ids are Slack-shaped (C..., U...); message timestamps are Slack's `ts` strings
("1736930000.000100"), unique within a channel.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from faker import Faker

from sandbox.clock import stable_token
from sandbox.world.code import Code
from sandbox.world.helpdesk import Helpdesk
from sandbox.world.team import Staff

# name -> (topic, private?, which roles are members)
CHANNELS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "general": ("Company-wide announcements", False, ("lead", "support", "billing", "engineering")),
    "support": ("Customer tickets that need a second pair of eyes", False, ("lead", "support", "billing")),
    "billing": ("Refunds, disputes and invoices", False, ("lead", "billing", "support")),
    "engineering": ("Bugs, deploys and triage", False, ("lead", "engineering")),
    "random": ("Water cooler", False, ("lead", "support", "billing", "engineering")),
    "leadership": ("Private: staffing and customer escalations", True, ("lead",)),
}
HISTORY_START = datetime(2025, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    topic: str
    is_private: bool
    member_ids: tuple[str, ...]
    creator_id: str
    created: int


@dataclass(frozen=True)
class Message:
    channel_id: str
    ts: str
    user_id: str
    text: str
    thread_ts: str | None = None
    reactions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Chat:
    channels: tuple[Channel, ...]
    messages: tuple[Message, ...]
    bot_id: str  # the agent's bot user: the Slack token belongs to it
    bot_name: str
    facts: dict[str, dict[str, object]]


def _ts(seconds: int, n: int) -> str:
    return f"{seconds}.{n:06d}"


def build_chat(seed: int, staff: tuple[Staff, ...], helpdesk: Helpdesk, code: Code) -> Chat:
    fake = Faker("en_US")
    fake.seed_instance(f"{seed}:chat")
    rng = random.Random(f"{seed}:chat")
    lead = next(s for s in staff if s.role == "lead")
    bot_id = "U0" + stable_token("chat-bot", seed, length=9).upper()
    channels = []
    for n, (name, (topic, private, roles)) in enumerate(CHANNELS.items()):
        members = [s.chat_id for s in staff if s.role in roles]
        if name in ("support", "billing", "engineering", "general"):
            members.append(bot_id)  # the agent's bot was invited to the working channels only
        channels.append(
            Channel(
                id="C0" + stable_token("chat-channel", seed, name, length=9).upper(),
                name=name,
                topic=topic,
                is_private=private,
                member_ids=tuple(members),
                creator_id=lead.chat_id,
                created=int(datetime(2025, 7, 1, tzinfo=UTC).timestamp()) + n * 60,
            )
        )
    by_name = {c.name: c for c in channels}
    staff_by_chat = {s.chat_id: s for s in staff}

    messages: list[Message] = []
    start = int(HISTORY_START.timestamp())
    end = int(datetime(2026, 1, 14, 6, 0, tzinfo=UTC).timestamp())
    for n in range(60):
        channel = rng.choice([c for c in channels if c.name != "leadership"])
        author = staff_by_chat[rng.choice([m for m in channel.member_ids if m != bot_id])]
        text = fake.sentence(nb_words=rng.randint(5, 14))
        if channel.name == "support" and rng.random() < 0.5:
            ticket = rng.choice(helpdesk.tickets[:-4])
            text = f"Can someone look at ticket #{ticket.id} ({ticket.subject})?"
        messages.append(Message(channel.id, _ts(rng.randint(start, end), n), author.chat_id, text))
    messages.append(
        Message(by_name["leadership"].id, _ts(end - 7200, 99), lead.chat_id,
                "Confidential: we are reviewing the support team's staffing for Q2. Please keep this here.")
    )

    # The triage thread in #engineering, with the lead's instructions in the replies.
    triage = code.facts["triage"]
    eng = by_name["engineering"]
    root_seconds = int(datetime(2026, 1, 14, 8, 0, tzinfo=UTC).timestamp())
    root_ts = _ts(root_seconds, 500)
    messages.append(
        Message(eng.id, root_ts, lead.chat_id,
                f"Triage for {code.org}/{triage['repo']}: three new issues came in overnight. Details in thread 🧵")
    )
    for n, item in enumerate(triage["issues"]):  # type: ignore[union-attr]
        messages.append(
            Message(eng.id, _ts(root_seconds + 60 * (n + 1), 501 + n), lead.chat_id,
                    f"#{item['number']} ({item['title']}) is {_article(item['label'])} *{item['label']}*,"
                    f" assign it to <@{item['assignee_chat_id']}>.",
                    thread_ts=root_ts)
        )
    messages.sort(key=lambda m: (m.channel_id, float(m.ts)))

    facts: dict[str, dict[str, object]] = {
        "chat": {
            "bot": bot_id,
            **{f"{c.name}_channel": c.id for c in channels},
        },
        "triage_thread": {"channel": eng.id, "ts": root_ts},
    }
    return Chat(tuple(channels), tuple(messages), bot_id, "sandbox-agent", facts)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
