from click.testing import CliRunner

from sandbox.cli import main


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help():
    runner = CliRunner()
    for path, cmd in _commands(main):
        assert cmd.help or cmd.short_help, f"sandbox {' '.join(path)} has no help text"
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output


def test_unknown_task_is_exit_2_with_a_hint(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "run", "refund-duplicat", "--", "true"])
    assert result.exit_code == 2
    assert "unknown task 'refund-duplicat'" in result.output and "did you mean" in result.output


def test_tasks_list_shows_the_library():
    result = CliRunner().invoke(main, ["tasks", "list"])
    assert result.exit_code == 0 and "refund-duplicate-charge" in result.output


def test_score_of_unknown_episode_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "score", "ep-none"])
    assert result.exit_code == 2 and "no ledger at" in result.output
