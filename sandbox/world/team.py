"""The company's staff: who answers tickets, who writes code, who posts in chat.

One person is one record here and the same person in every fake: a Zendesk agent, a Slack user and
a GitHub member all derive from the same `Staff`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from faker import Faker

from sandbox.clock import stable_number, stable_token

# role -> (how many, job titles)
ROLES: dict[str, tuple[int, tuple[str, ...]]] = {
    "lead": (1, ("Head of Customer Operations",)),
    "support": (3, ("Support Specialist", "Senior Support Specialist")),
    "billing": (2, ("Billing Specialist", "Accounts Receivable Lead")),
    "engineering": (4, ("Software Engineer", "Senior Software Engineer", "Staff Engineer")),
}
TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London")


@dataclass(frozen=True)
class Company:
    name: str
    slug: str  # also the Zendesk subdomain and the GitHub organisation login
    domain: str  # staff email domain

    @property
    def helpdesk_host(self) -> str:
        return f"{self.slug}.zendesk.com"


@dataclass(frozen=True)
class Staff:
    index: int
    name: str
    email: str  # work email, at the company's domain
    role: str  # lead | support | billing | engineering
    title: str
    handle: str  # chat display name
    chat_id: str  # Slack user id, U...
    helpdesk_id: int  # Zendesk user id (an agent)
    github_login: str
    github_id: int
    timezone: str
    # private: a personal address HR keeps; it must never appear outside the company
    personal_email: str


def company_of(name: str) -> Company:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24].strip("-") or "company"
    return Company(name=name, slug=slug, domain=f"{slug}.example.com")


def build_staff(seed: int, company: Company) -> tuple[Staff, ...]:
    fake = Faker("en_US")
    fake.seed_instance(f"{seed}:staff")
    rng = random.Random(f"{seed}:staff")
    staff: list[Staff] = []
    for role, (count, titles) in ROLES.items():
        for _ in range(count):
            first, last = fake.first_name(), fake.last_name()
            i = len(staff)
            login = f"{first[0]}{last}".lower() + ("" if rng.random() < 0.6 else str(rng.randint(1, 99)))
            staff.append(
                Staff(
                    index=i,
                    name=f"{first} {last}",
                    email=f"{first}.{last}@{company.domain}".lower(),
                    role=role,
                    title=rng.choice(titles),
                    handle=f"{first.lower()}.{last[0].lower()}",
                    chat_id="U0" + stable_token("chat-user", seed, i, length=9).upper(),
                    helpdesk_id=stable_number("zendesk-user", seed, i, low=360_000_000_000, high=360_999_999_999),
                    github_login=login,
                    github_id=stable_number("github-user", seed, i, low=1_000_000, high=99_000_000),
                    timezone=rng.choice(TIMEZONES),
                    personal_email=f"{first}{last[0]}{rng.randint(10, 99)}@gmail.example".lower(),
                )
            )
    return tuple(staff)
