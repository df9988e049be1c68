"""`sandbox faults list | check` and `sandbox run --faults` on a bad profile."""

from __future__ import annotations

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
