"""Fault profiles: the shipped library is valid, and a bad profile names the file, the rule and the field."""

from __future__ import annotations

import pytest

from sandbox.faults import ACTIONS, FaultProfileError, library_names, load_profile, profile_ref
from sandbox.faults.validate import parse_profile

RULE = {"name": "r", "match": {"method": "GET"}, "action": {"kind": "error", "status": 503}}


def profile(*rules, **top):
    return {"name": "p", "seed": 1, "rules": list(rules), **top}


def test_every_shipped_profile_loads_and_every_kind_has_an_example():
    names = library_names()
    kinds = {rule.action.kind for name in names for rule in load_profile(name).rules}
    assert kinds == set(ACTIONS), f"no example profile for {set(ACTIONS) - kinds}"
    for name in names:
        assert load_profile(name).description, f"{name} has no description"


@pytest.mark.parametrize(
    ("doc", "place", "words"),
    [
        (profile(RULE, colour="red"), "f.yaml: colour: unknown field", "known"),
        ({"name": "p", "rules": []}, "f.yaml: seed: missing", "name, seed and rules"),
        (profile({**RULE, "match": {"methd": "GET"}}), "f.yaml: rules[0] (r).match.methd: unknown field",
         "did you mean 'method'"),
        (profile({**RULE, "action": {"kind": "eror"}}), "f.yaml: rules[0] (r).action.kind: unknown action kind",
         "did you mean 'error'"),
        (profile(RULE, {**RULE, "name": "s", "action": {"kind": "error", "status": 200}}),
         "f.yaml: rules[1] (s).action.status: expected an HTTP error status", ""),
        (profile({**RULE, "match": {"probability": 1.5}}), "f.yaml: rules[0] (r).match.probability: expected a number "
         "between 0 and 1", ""),
        (profile({**RULE, "match": {"nth": 0}}), "rules[0] (r).match.nth: expected an integer >= 1", ""),
        (profile({**RULE, "action": {"kind": "latency"}}), "rules[0] (r).action: a latency needs exactly one of", ""),
        (profile({**RULE, "action": {"kind": "latency", "lognormal": {"median_ms": 5}}}),
         "rules[0] (r).action.lognormal.cap_ms: missing", ""),
        (profile({**RULE, "action": {"kind": "drift", "ops": [{"rename": {"field": "a"}}]}}),
         "rules[0] (r).action.ops[0].rename.to: expected a non-empty string", ""),
        (profile({**RULE, "action": {"kind": "html", "ops": [{"hide": {"selector": "a > b"}}]}}),
         "rules[0] (r).action.ops[0].hide.selector: cannot read the selector", "#id"),
        (profile({**RULE, "action": {"kind": "expire_session", "until": "reauth"}}),
         "rules[0] (r).action.reauth_path: missing", "/agent/login"),
        (profile(RULE, RULE), "rules[1] (r).name: another rule is already called 'r'", "unique"),
    ],
)
def test_a_bad_profile_names_file_rule_and_field(doc, place, words):
    with pytest.raises(FaultProfileError) as info:
        parse_profile(doc, "f.yaml")
    assert place in info.value.message
    assert words in (info.value.hint or "") + info.value.message


def test_profile_files_malformed_yaml_and_unknown_names(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: p\nrules: [\n")
    with pytest.raises(FaultProfileError, match=r"bad.yaml: line \d+, column \d+: malformed YAML"):
        load_profile(bad)
    with pytest.raises(FaultProfileError, match="unknown fault profile 'ghost-refnd'") as info:
        load_profile("ghost-refnd")
    assert "ghost-refund" in info.value.hint
    with pytest.raises(FaultProfileError, match="no fault profile at"):
        load_profile(tmp_path / "missing.yaml")


def test_an_episode_stores_a_library_name_or_an_absolute_path(tmp_path, monkeypatch):
    assert profile_ref("ghost-refund") == "ghost-refund"
    (tmp_path / "mine.yaml").write_text("name: mine\nseed: 2\nrules: []\n")
    monkeypatch.chdir(tmp_path)
    assert profile_ref("mine.yaml") == str(tmp_path / "mine.yaml")


def test_an_episode_with_a_bad_profile_is_never_created(store, tmp_path, monkeypatch):
    import services

    monkeypatch.setattr(services, "service_ids", list)  # no fake's world is needed for this
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: p\nseed: 1\nrules:\n  - action: {kind: rate_limit, retry_after: -1}\n")
    with pytest.raises(FaultProfileError, match=r"bad.yaml: rules\[0\] \(rule-0\).action.retry_after"):
        store.create(7, faults=str(bad))
    assert store.list() == []
    episode = store.create(7, faults="ghost-refund")
    assert store.get(episode.id).faults == "ghost-refund"


# -- fields that name something: a typo is an error with a did-you-mean, not a rule that never fires --


def rule_with(match: dict | None = None, action: dict | None = None) -> dict:
    return profile({"name": "r", "match": match or {}, "action": action or {"kind": "reset"}})


@pytest.mark.parametrize(
    ("doc", "place", "words"),
    [
        (rule_with({"service": "paymnets"}), "rules[0] (r).match.service: unknown service 'paymnets'",
         "did you mean 'payments'"),
        (rule_with({"service": ["payments", "helpdsk"]}), "match.service: unknown service 'helpdsk'", "'helpdesk'"),
        (rule_with({"method": "PSOT"}), "rules[0] (r).match.method: unknown HTTP method 'PSOT'", "did you mean 'POST'"),
        (rule_with({"host": "api.stirpe.com"}), "match.host: 'api.stirpe.com' is no host a fake answers for",
         "did you mean 'api.stripe.com'"),
        (rule_with({"host": "zendesk.com"}), "match.host: 'zendesk.com' is no host a fake answers for",
         "'*.zendesk.com'"),
        (rule_with({"host": "https://api.stripe.com/v1"}), "match.host: 'https://api.stripe.com/v1' is a URL",
         "match.path"),
        (rule_with({"host": "api.stripe.com:443"}), "match.host: 'api.stripe.com:443' has a port", "every port"),
        (rule_with({"host": "api stripe"}), "match.host: 'api stripe' is not a host name", "*.zendesk.com"),
        (rule_with(action={"kind": "drift", "ops": [{"hide": "data..email"}]}),
         "action.ops[0].hide: 'data..email' has an empty step", "data[].customer.email"),
        (rule_with(action={"kind": "drift", "ops": [{"retype": {"field": "data[0].amount", "to": "string"}}]}),
         "action.ops[0].retype.field: 'data[0].amount': step 'data[0]' is not a key", "tickets.*.subject"),
        (rule_with(action={"kind": "drift", "ops": [{"rename": {"field": "email", "to": "data.email_address"}}]}),
         "action.ops[0].rename.to: 'data.email_address' is a path", "new name"),
        (rule_with(action={"kind": "expire_session", "until": "reauth", "reauth_path": "agent/login"}),
         "action.reauth_path: 'agent/login' does not start with /", "/agent/login"),
    ],
)
def test_a_field_naming_something_unknown_is_an_error_with_a_suggestion(doc, place, words):
    with pytest.raises(FaultProfileError) as info:
        parse_profile(doc, "f.yaml")
    assert place in info.value.message
    assert words in (info.value.hint or "") + info.value.message


@pytest.mark.parametrize("match", [
    {"host": "api.stripe.com"}, {"host": "*.zendesk.com"}, {"host": "gould-foster.zendesk.com"},
    {"host": "*.stripe.com"}, {"host": "example.org"}, {"host": "127.0.0.1"},  # outside hosts may be allow-listed
    {"service": ["payments", "helpdesk", "chat", "code"]}, {"method": ["get", "Post", "DELETE", "PATCH"]},
])
def test_names_that_exist_or_may_be_outside_hosts_are_accepted(match):
    parse_profile(rule_with(match), "f.yaml")


def test_drift_paths_in_every_documented_form_are_accepted():
    ops = [{"hide": "email"}, {"hide": "data[].customer.email"}, {"hide": "tickets.*.subject"},
           {"rename": {"field": "data[].email", "to": "email_address"}}, {"retype": {"field": "[]", "to": "null"}}]
    assert len(parse_profile(rule_with(action={"kind": "drift", "ops": ops}), "f.yaml").rules[0].action.params["ops"]
               ) == 5


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({**RULE, "match": {"via": "email"}}, "rules[0] (r).match.via: expected one of agent, webhook"),
        ({**RULE, "match": {"via": "webhook"}}, "rules[0] (r).action.kind: error does not act on webhook deliveries"),
        ({**RULE, "action": {"kind": "duplicate"}}, "(r).match.via: duplicate acts on webhook deliveries only"),
        ({**RULE, "action": {"kind": "reorder"}}, "add via: webhook"),
        ({**RULE, "match": {"via": "webhook"}, "action": {"kind": "duplicate", "copies": 0}},
         "rules[0] (r).action.copies: expected an integer >= 1"),
    ],
)
def test_webhook_rules_are_checked(rule, words):
    with pytest.raises(FaultProfileError) as err:
        parse_profile(profile(rule), "f.yaml")
    assert words in str(err.value) + " " + (err.value.hint or "")


def test_a_webhook_rule_is_parsed_with_its_via():
    parsed = parse_profile(profile({**RULE, "match": {"via": "webhook", "nth": 1}, "action": {"kind": "reorder"}}),
                           "f.yaml")
    assert parsed.rules[0].match.via == "webhook" and parsed.rules[0].action.kind == "reorder"
    assert parse_profile(profile(RULE), "f.yaml").rules[0].match.via == "agent"
