import pytest

from sandbox.errors import ConfigError
from sandbox.sweep import agent_name, build_plan, parse_agent, parse_faults, parse_tasks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("none,,ghost-refund", "entry 2 is empty"),
        ("none,ghost-refund,", "entry 3 is empty"),
        ("", "--faults is empty"),
        ("none,none", "'none' appears twice"),
        ("none,ghost-refnd", r"(?s)entry 2 \('ghost-refnd'\): unknown fault profile.*did you mean 'ghost-refund'"),
        ("none,/no/such/profile.yaml", r"entry 2 \('/no/such/profile.yaml'\)"),
    ],
)
def test_a_malformed_profile_list_names_the_bad_entry(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_faults(text)


def test_profiles_are_validated_and_none_is_the_baseline():
    assert parse_faults(" none , ghost-refund ") == ["none", "ghost-refund"]


def test_tasks_are_validated():
    with pytest.raises(ConfigError, match="(?s)--tasks entry 1 .*did you mean 'refund-duplicate-charge'"):
        parse_tasks("refund-duplicate-charg")
    assert parse_tasks("refund-duplicate-charge") == ["refund-duplicate-charge"]


def test_agents_and_their_names():
    assert parse_agent("careful=python examples/careful_refund_agent.py --fast") == (
        "careful", ["python", "examples/careful_refund_agent.py", "--fast"])
    with pytest.raises(ConfigError, match="expected NAME=COMMAND"):
        parse_agent("python agent.py")
    assert agent_name(["python", "examples/careful_refund_agent.py"]) == "careful_refund_agent"
    assert agent_name(["python", "-m", "pkg.my_agent"]) == "my_agent"


def test_the_plan_crosses_everything_and_seeds_move_the_world():
    plan = build_plan({"a": ["true"], "b": ["true"]}, ["refund-duplicate-charge"], ["none", "ghost-refund"],
                      seeds=2, trials=3)
    assert len(plan.cells) == 2 * 2 * 2 * 3
    assert sorted({c.seed for c in plan.cells}) == [7, 8]
    eight = next(c.task for c in plan.cells if c.seed == 8)
    assert eight.seed == 8 and eight.instruction != next(c.task for c in plan.cells if c.seed == 7).instruction
    with pytest.raises(ConfigError, match="at least 1"):
        build_plan({"a": ["true"]}, ["refund-duplicate-charge"], ["none"], seeds=1, trials=0)
