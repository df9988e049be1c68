import pytest

from sandbox.sweep import stats


def row(agent="a", task="t", faults="none", seed=7, trial=1, success=True, score=None):
    return {"agent": agent, "task": task, "faults": faults, "seed": seed, "trial": trial, "success": success,
            "score": float(success) if score is None else score, "calls": 3, "retries": 0, "duplicated_writes": 0}


@pytest.mark.parametrize(
    ("c", "n", "k", "expected"),
    [(4, 4, 4, 1.0), (3, 4, 1, 0.75), (3, 4, 2, 0.5), (2, 4, 3, 0.0), (0, 4, 1, 0.0), (4, 3, 4, None)],
)
def test_pass_hat_k_is_the_combinatorial_estimate(c, n, k, expected):
    # C(3,2)/C(4,2) = 3/6: two trials drawn from four, both among the three successes
    assert stats.pass_hat_k(c, n, k) == expected


def test_pass_curve_averages_over_tasks_and_never_rises():
    rows = [row(task="t1", trial=i, success=i != 1) for i in range(1, 5)]  # 3 of 4
    rows += [row(task="t2", trial=i, success=True) for i in range(1, 5)]  # 4 of 4
    curve = stats.pass_curve(rows, 4)
    assert curve == {1: 0.875, 2: 0.75, 3: 0.625, 4: 0.5}


def test_flip_rate_counts_disagreeing_trial_pairs():
    rows = [row(trial=i, success=s) for i, s in enumerate([True, False, True, True], 1)]  # c=3, n=4
    rows += [row(task="steady", trial=i) for i in range(1, 5)]
    noise = stats.flip_rate(rows)
    assert noise == {"flip_rate": round(3 / 12, 4), "pairs": 12, "flaky_configs": 1, "configs": 2}
    assert stats.flip_rate([row()])["flip_rate"] is None


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0.0, -1.0, 0.0, -1.0, -1.0, 0.0, 0.5, -0.5]
    first = stats.bootstrap_ci(values, seed=3)
    assert first == stats.bootstrap_ci(values, seed=3)
    assert first[0] <= sum(values) / len(values) <= first[1]
    assert stats.bootstrap_ci([1.0] * 5) == (1.0, 1.0)


def test_paired_deltas_pair_each_profile_episode_with_its_baseline_twin():
    rows = [row(agent="brittle", trial=i) for i in (1, 2, 3)]
    rows += [row(agent="brittle", faults="http-error", trial=i, success=False) for i in (1, 2, 3)]
    rows += [row(agent="robust", trial=i) for i in (1, 2)] + [row(agent="robust", faults="http-error", trial=i)
                                                              for i in (1, 2, 3)]
    deltas = {(d["agent"], d["task"]): d for d in stats.paired_deltas(rows)}
    brittle = deltas[("brittle", "t")]
    assert (brittle["delta"], brittle["ci_low"], brittle["ci_high"], brittle["significant"]) == (-1.0, -1.0, -1.0, True)
    robust = deltas[("robust", "t")]
    assert (robust["delta"], robust["pairs"], robust["unpaired"], robust["significant"]) == (0.0, 2, 1, False)
    assert deltas[("brittle", "(all tasks)")]["pairs"] == 3


def test_summary_has_success_rate_and_pass_k_per_agent_task_profile():
    rows = [row(trial=i, success=i < 3) for i in (1, 2, 3)]
    (only,) = stats.summary(rows, trials=3)
    assert (only["success_rate"], only["pass_k"]) == (0.6667, {"1": 0.6667, "2": 0.3333, "3": 0.0})
