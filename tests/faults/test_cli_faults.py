"""`sandbox faults list | check` and `sandbox run --faults` on a bad profile."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from sandbox.cli import main
from sandbox.faults import library_names


def test_faults_list_shows_every_shipped_profile():
    result = CliRunner().invoke(main, ["faults", "list"])
    assert result.exit_code == 0
    assert [line.split("\t")[0] for line in result.output.splitlines()] == library_names()
    assert "ghost-refund\tghost_write\t" in result.output


def test_faults_check_accepts_good_files_and_names_the_place_of_a_bad_one(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: g\nseed: 4\nrules:\n  - match: {nth: 2}\n    action: {kind: reset}\n")
    result = CliRunner().invoke(main, ["faults", "check", str(good), "latency"])
    assert result.exit_code == 0
    assert f"{good}: ok, profile 'g', seed 4, 1 rules" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nseed: 1\nrules:\n  - name: slow\n    action: {kind: latency, ms: -5}\n")
    result = CliRunner().invoke(main, ["faults", "check", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}: rules[0] (slow).action.ms: expected a number between 0 and 600000, got -5" in result.output


def test_run_with_a_bad_profile_fails_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nseed: 1\nrules:\n  - name: r\n    match: {mehtod: GET}\n    action: {kind: reset}\n")
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "run", "--faults", str(bad), "refund-duplicate-charge",
                                       "--", "false"])
    assert result.exit_code == 2
    assert "rules[0] (r).match.mehtod: unknown field" in result.output and "did you mean 'method'" in result.output
    assert not (home / "run" / "ports.json").exists() and not any((home / "episodes").iterdir())


BAD_SERVICE = "name: b\nseed: 1\nrules:\n  - name: r\n    match: {service: paymnets}\n    action: {kind: reset}\n"


def test_run_and_sweep_refuse_a_rule_for_an_unknown_service_before_any_agent_starts(tmp_path):
    """A rule for `paymnets` would match nothing: the run would look unperturbed and pass."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SERVICE)
    home = tmp_path / "home"
    marker = tmp_path / "agent-ran"
    agent = ["--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    for argv in (["run", "--faults", str(bad), "refund-duplicate-charge", *agent],
                 ["sweep", "--tasks", "refund-duplicate-charge", "--faults", f"none,{bad}", "--out",
                  str(tmp_path / "out"), *agent]):
        result = CliRunner().invoke(main, ["--home", str(home), *argv])
        assert result.exit_code == 2, result.output
        assert "rules[0] (r).match.service: unknown service 'paymnets'" in result.output
        assert "did you mean 'payments'" in result.output
    assert not marker.exists()
    assert not (home / "episodes").exists() or not any((home / "episodes").iterdir())
    assert not (tmp_path / "out" / "results.json").exists()


def test_run_fault_seed_needs_a_profile(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "run", "--fault-seed", "3",
                                       "refund-duplicate-charge", "--", "false"])
    assert result.exit_code == 2 and "--fault-seed needs --faults" in result.output
