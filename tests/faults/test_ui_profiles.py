"""The ui-* library profiles put their nuisance on every page set: each html rule's selector names
an element the targeted service's templates render, and each session_expired rule's service has a
sign-in page to send the browser to. (Whether a browser agent adapts to them: the browser oracles'
tests; what each does in Chromium: tests/proxy/test_nuisance_browser.py.)"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from sandbox.faults import library_names, load_profile
from sandbox.faults.html import parse_selector
from services import all_services

SERVICES = Path(__file__).resolve().parents[2] / "services"
UI_PROFILES = [name for name in library_names() if name.startswith("ui-")]


def service_of(host: str) -> str:
    sample = host.replace("*", "tenant")
    (found,) = {spec.id for spec in all_services() for h in spec.hosts if fnmatch.fnmatchcase(sample, h)}
    return found


def templates(service: str) -> str:
    return "".join(p.read_text() for p in sorted((SERVICES / service / "templates").glob("*.html")))


def test_every_ui_profile_covers_the_four_page_sets():
    assert len(UI_PROFILES) >= 7
    for name in UI_PROFILES:
        covered = {service_of(host) for rule in load_profile(name).rules for host in rule.match.hosts}
        assert covered == {"payments", "chat", "code", "helpdesk"}, name


@pytest.mark.parametrize("name", UI_PROFILES)
def test_each_rule_names_what_its_service_renders(name):
    for rule in load_profile(name).rules:
        (host,) = rule.match.hosts
        service = service_of(host)
        spec = next(s for s in all_services() if s.id == service)
        assert spec.web_login is not None, f"{name}: {rule.name}: {service} has no pages"
        if rule.action.kind != "html":
            continue
        text = templates(service)
        for op in rule.action.params["ops"]:
            (_, arg), = op.items()
            if "selector" not in arg:
                continue
            last = parse_selector(arg["selector"])[-1]
            needed = [f'id="{i}"' for i in last.ids] + [f"{a}=" for a, _ in last.attrs]
            needed += [f"<{c.tag}" for c in parse_selector(arg["selector"]) if c.tag]
            missing = [n for n in needed if n not in text]
            assert not missing, f"{name}: {rule.name}: services/{service}/templates render no {missing}"
