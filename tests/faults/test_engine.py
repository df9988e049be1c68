"""Which calls a profile hits: counters and seeded draws only, per episode."""

from __future__ import annotations

from sandbox.faults.engine import Call, EpisodeFaults, draw, latency_ms
from sandbox.faults.validate import parse_profile


def make(rules, seed=1):
    return parse_profile({"name": "p", "seed": seed, "rules": rules}, "test.yaml")


def call(path="/v1/charges", method="GET", host="api.stripe.com", service="payments", clock_s=1.0):
    return Call(host, method, path, service, clock_s)


def fired(state, calls):
    return [[(f.rule.name, f.n) for f in state.decide(c)] for c in calls]


ERROR = {"kind": "error", "status": 500}


def test_match_fields_and_counters():
    profile = make([
        {"name": "nth", "match": {"method": "POST", "path": "/v1/refunds", "nth": [2, 3]}, "action": ERROR},
        {"name": "every", "match": {"host": "*.stripe.com", "service": "payments", "every": 2},
         "action": {"kind": "latency", "ms": 5}},
        {"name": "later", "match": {"path": "/v1/*", "after_s": 4, "times": 1}, "action": {"kind": "malformed_json"}},
    ])
    state = EpisodeFaults(profile, episode_seed=7)
    calls = [call("/v1/refunds", "POST", clock_s=i) for i in range(1, 6)]
    assert fired(state, calls) == [
        [],
        [("nth", 2)],  # `every` matched (its count is 2) but the call was answered already
        [("nth", 3)],
        [("every", 4), ("later", 4)],
        [],  # `later` fired its one time
    ]
    # host, method, service and path must all hold
    strict = EpisodeFaults(make([{"name": "all", "action": ERROR, "match": {
        "host": "api.stripe.com", "method": "get", "service": "payments", "path": "/v1/charges*"}}]), 0)
    misses = [call(host="api.github.com"), call(service="helpdesk"), call(path="/v2/x"), call(method="POST")]
    assert fired(strict, [*misses, call("/v1/charges/ch_1")]) == [[], [], [], [], [("all", 1)]]


def test_after_a_terminal_action_later_rules_do_not_act_but_still_count():
    profile = make([
        {"name": "first", "match": {"nth": 1}, "action": ERROR},
        {"name": "second", "match": {"nth": [1, 2]}, "action": {"kind": "reset"}},
        {"name": "drift", "match": {"nth": 3}, "action": {"kind": "drift", "ops": [{"hide": "id"}]}},
    ])
    state = EpisodeFaults(profile, 0)
    assert fired(state, [call(), call(), call()]) == [[("first", 1)], [("second", 2)], [("drift", 3)]]


def test_same_seeds_same_decisions_other_seeds_other_decisions():
    rules = [{"name": "wait", "match": {}, "action": {"kind": "latency", "lognormal": {"median_ms": 50, "sigma": 1,
                                                                                          "cap_ms": 300}}},
             {"name": "coin", "match": {"probability": 0.5}, "action": ERROR}]

    def run(profile_seed, episode_seed):
        state = EpisodeFaults(make(rules, profile_seed), episode_seed)
        out = []
        for i in range(40):
            firings = state.decide(call(clock_s=i))
            out.append(tuple((f.rule.name, latency_ms(f) if f.rule.action.kind == "latency" else None)
                             for f in firings))
        return out

    first = run(1, 7)
    assert run(1, 7) == first
    assert run(2, 7) != first and run(1, 8) != first
    coins = sum(any(name == "coin" for name, _ in c) for c in first)
    assert 8 < coins < 32  # a fair coin over 40 calls
    delays = [d for c in first for name, d in c if name == "wait"]
    assert max(delays) <= 300 and min(delays) > 0 and len(set(delays)) == 40


def test_concurrent_episodes_do_not_disturb_each_other():
    profile = make([{"name": "coin", "match": {"probability": 0.5}, "action": ERROR}])
    alone = fired(EpisodeFaults(profile, 7), [call() for _ in range(20)])
    a, b = EpisodeFaults(profile, 7), EpisodeFaults(profile, 7)
    mixed_a = []
    for _ in range(20):  # interleaved with another episode's calls
        mixed_a += fired(a, [call()])
        fired(b, [call(), call()])
    assert mixed_a == alone


def test_expired_session_until_reauth_refuses_until_a_sign_in():
    profile = make([{"name": "expire", "match": {"path": "/agent/tickets*", "nth": 2},
                     "action": {"kind": "expire_session", "until": "reauth", "reauth_path": "/agent/login"}}])
    state = EpisodeFaults(profile, 0)
    calls = [call("/agent/tickets"), call("/agent/tickets/1"), call("/agent/tickets"), call("/agent/login"),
             call("/agent/login", "POST"), call("/agent/tickets")]
    assert fired(state, calls) == [[], [("expire", 2)], [("expire", 3)], [], [], []]


def test_draw_and_latency_shapes():
    assert draw(1, 2, 3) == draw(1, 2, 3) != draw(1, 2, 4)
    assert 0 <= draw("x") < 1
    profile = make([{"name": "fixed", "match": {}, "action": {"kind": "latency", "ms": 120}},
                    {"name": "uniform", "match": {}, "action": {"kind": "latency", "uniform_ms": [10, 20]}}])
    fixed, uniform = EpisodeFaults(profile, 0).decide(call())
    assert latency_ms(fixed) == 120
    assert 10 <= latency_ms(uniform) <= 20


def test_the_prefilter_never_hides_a_matching_rule():
    from sandbox.faults.engine import matches
    from sandbox.faults.model import call_key

    profile = make([
        {"name": "a", "match": {"host": ["*.zendesk.com", "api.github.com"], "path": "/api/v2/tickets/*"},
         "action": ERROR},
        {"name": "b", "match": {"method": ["put", "PATCH"], "service": "helpdesk"}, "action": ERROR},
        {"name": "c", "match": {"path": ["*/comments", "/agent/*"]}, "action": ERROR},
    ])
    hosts = ["acme.zendesk.com", "API.GITHUB.COM", "api.stripe.com", "zendesk.com"]
    paths = ["/api/v2/tickets/1", "/api/v2/tickets", "/repos/a/b/issues/1/comments", "/agent/tickets/2", "/x"]
    for host in hosts:
        for path in paths:
            for method in ("GET", "PUT", "PATCH"):
                for service in ("helpdesk", "code", None):
                    c = call(path, method, host, service)
                    exact = any(matches(rule, c) for rule in profile.rules)
                    assert exact <= bool(profile.prefilter.match(call_key(method, host, service, path))), c


def test_webhook_rules_count_deliveries_only_and_agent_rules_never_see_them():
    profile = make([
        {"name": "agent", "match": {"method": "POST", "nth": 2}, "action": ERROR},
        {"name": "hook", "match": {"via": "webhook", "method": "POST", "nth": 2}, "action": {"kind": "duplicate"}},
    ])
    state = EpisodeFaults(profile, 7)
    delivery = Call("127.0.0.1", "POST", "/hooks", "payments", 1.0, via="webhook")
    agent = call("/v1/refunds", "POST")
    # Interleaved: each rule's counter advances on its own kind of call only.
    assert fired(state, [delivery, agent, delivery, agent]) == [[], [], [("hook", 2)], [("agent", 2)]]


def test_may_match_says_when_a_decision_cannot_change_anything_and_reset_starts_over():
    # The proxy skips the shared counters (a ledger transaction) for calls may_match rules out.
    state = EpisodeFaults(make([{"name": "charges", "match": {"path": "/v1/charges*"}, "action": ERROR}]), 0)
    assert not state.may_match(call("/v1/customers"))
    assert state.decide(call("/v1/customers")) == [] and state.counts == [0]
    assert state.may_match(call("/v1/charges/ch_1"))
    state.decide(call("/v1/charges/ch_1"))
    assert (state.counts, state.fired) == ([1], [1])
    state.reset()
    assert (state.counts, state.fired, state.locked) == ([0], [0], set())
    # A session expired until a sign-in refuses calls no pattern names: every call may be decided.
    locking = EpisodeFaults(make([{"name": "expire", "match": {"path": "/agent/tickets*"},
                                   "action": {"kind": "expire_session", "until": "reauth",
                                              "reauth_path": "/agent/login"}}]), 0)
    assert locking.may_match(call("/somewhere/else"))
