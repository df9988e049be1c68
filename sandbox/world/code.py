"""The company's code: a GitHub organisation with one repository per product and their issues.

Staff engineers are the organisation's members; some issues come from outside contributors. A few
fresh issues in the first product's repository have no labels and no assignee yet: the chat's
triage thread says what they should get (`facts["triage"]`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from faker import Faker

from sandbox.clock import stable_number
from sandbox.world.commerce import HISTORY_END, Commerce
from sandbox.world.team import Company, Staff

LABELS: tuple[tuple[str, str, str], ...] = (
    ("bug", "d73a4a", "Something isn't working"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("question", "d876e3", "Further information is requested"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("billing", "fbca04", "Touches payments or invoices"),
    ("customer-report", "5319e7", "Reported by a customer through support"),
)
ISSUES_PER_REPO = 7


@dataclass(frozen=True)
class Label:
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class IssueComment:
    id: int
    author_login: str
    body: str
    created: int


@dataclass(frozen=True)
class Issue:
    id: int
    repo: str
    number: int
    title: str
    body: str
    author_login: str
    state: str  # open | closed
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    created: int
    updated: int
    closed_at: int | None
    comments: tuple[IssueComment, ...]


@dataclass(frozen=True)
class Repo:
    id: int
    name: str
    description: str
    private: bool
    product_id: str | None
    topics: tuple[str, ...]
    created: int


@dataclass(frozen=True)
class ExternalUser:
    login: str
    id: int
    name: str


@dataclass(frozen=True)
class Code:
    org: str
    org_id: int
    labels: tuple[Label, ...]
    repos: tuple[Repo, ...]
    issues: tuple[Issue, ...]
    outsiders: tuple[ExternalUser, ...]
    facts: dict[str, dict[str, object]]


def repo_name(product_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", product_name.lower()).strip("-")


def _ts(fake: Faker, start: datetime, end: datetime = HISTORY_END) -> int:
    return int(fake.date_time_between(start_date=start, end_date=end, tzinfo=UTC).timestamp())


def build_code(seed: int, company: Company, commerce: Commerce, staff: tuple[Staff, ...]) -> Code:
    fake = Faker("en_US")
    fake.seed_instance(f"{seed}:code")
    rng = random.Random(f"{seed}:code")
    engineers = [s for s in staff if s.role == "engineering"]
    outsiders = tuple(
        ExternalUser(
            login=f"{fake.user_name()}{n}",
            id=stable_number("github-outsider", seed, n, low=100_000_000, high=199_000_000),
            name=fake.name(),
        )
        for n in range(4)
    )
    repos: list[Repo] = []
    names: set[str] = set()
    for p in commerce.products:
        name = repo_name(p.name)
        if name in names:
            name = f"{name}-{p.index}"
        names.add(name)
        repos.append(
            Repo(
                id=stable_number("github-repo", seed, p.index, low=400_000_000, high=900_000_000),
                name=name,
                description=p.description,
                private=False,
                product_id=p.id,
                topics=(name.split("-")[0], "product"),
                created=p.created,
            )
        )
    repos.append(
        Repo(
            id=stable_number("github-repo", seed, "ops", low=400_000_000, high=900_000_000),
            name="ops-runbooks",
            description="Runbooks and on-call notes. Internal.",
            private=True,
            product_id=None,
            topics=("internal",),
            created=int(datetime(2025, 7, 2, tzinfo=UTC).timestamp()),
        )
    )

    issues: list[Issue] = []
    comment_id = stable_number("github-comment", seed, low=1_500_000_000, high=1_600_000_000)
    for repo in repos:
        for number in range(1, ISSUES_PER_REPO + 1):
            created = _ts(fake, datetime(2025, 8, 1, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC))
            author = rng.choice([*(e.github_login for e in engineers), *(o.login for o in outsiders)])
            state = "closed" if rng.random() < 0.35 else "open"
            label = rng.choice([label for label, _, _ in LABELS[:4]])
            comments = []
            t = created
            for _ in range(rng.randint(0, 3)):
                t += rng.randint(600, 86_400)
                comment_id += rng.randint(1, 50)
                comments.append(IssueComment(comment_id, rng.choice(engineers).github_login, fake.sentence(), t))
            issues.append(
                Issue(
                    id=stable_number("github-issue", seed, repo.name, number, low=2_000_000_000, high=2_900_000_000),
                    repo=repo.name,
                    number=number,
                    title=fake.sentence(nb_words=6).rstrip("."),
                    body=fake.paragraph(nb_sentences=3),
                    author_login=author,
                    state=state,
                    labels=(label,),
                    assignees=(rng.choice(engineers).github_login,) if rng.random() < 0.6 else (),
                    created=created,
                    updated=t,
                    closed_at=t + 3600 if state == "closed" else None,
                    comments=tuple(comments),
                )
            )

    # Fresh, untriaged issues in the first product's repository.
    target = repos[0]
    fresh = [
        ("Crash when the cart holds more than 99 items", "bug"),
        (f"Allow exporting {target.name} invoices as CSV", "enhancement"),
        ("README install steps are out of date", "documentation"),
    ]
    triage: list[dict[str, object]] = []
    flat: dict[str, object] = {}
    base = int(datetime(2026, 1, 14, 7, 0, tzinfo=UTC).timestamp())
    for n, (title, label) in enumerate(fresh):
        number = ISSUES_PER_REPO + 1 + n
        assignee = engineers[(n + rng.randrange(len(engineers))) % len(engineers)]
        issues.append(
            Issue(
                id=stable_number("github-issue", seed, target.name, number, low=2_000_000_000, high=2_900_000_000),
                repo=target.name,
                number=number,
                title=title,
                body=fake.paragraph(nb_sentences=2),
                author_login=outsiders[n % len(outsiders)].login,
                state="open",
                labels=(),
                assignees=(),
                created=base + n * 1200,
                updated=base + n * 1200,
                closed_at=None,
                comments=(),
            )
        )
        item = {"id": issues[-1].id, "number": number, "title": title, "label": label,
                "assignee": assignee.github_login, "assignee_chat_id": assignee.chat_id,
                "assignee_name": assignee.name}
        triage.append(item)
        # Flat keys too, for task files: ${triage.issue1_id}, ${triage.issue1_label}...
        flat.update({f"issue{n + 1}_{key}": value for key, value in item.items()})

    facts: dict[str, dict[str, object]] = {
        "github": {"org": company.slug, "repos": [r.name for r in repos]},
        "triage": {"repo": target.name, "repo_id": target.id, "issues": triage, **flat},
    }
    return Code(
        org=company.slug,
        org_id=stable_number("github-org", seed, low=10_000_000, high=99_000_000),
        labels=tuple(Label(*label) for label in LABELS),
        repos=tuple(repos),
        issues=tuple(issues),
        outsiders=outsiders,
        facts=facts,
    )
