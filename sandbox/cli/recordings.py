"""`sandbox recordings ...` and `sandbox replay`: the command line over sandbox.recordings.

    sandbox recordings list                      the recordings in ./recordings (or $SANDBOX_RECORDINGS)
    sandbox recordings show NAME                 header and one line per exchange
    sandbox recordings scan [NAME...] [--ledgers] token-shaped strings left in recordings or ledgers: exit 1 if any
    sandbox recordings import FILE NAME          a HAR or mitmproxy flow file, as a recording
    sandbox recordings export NAME OUT.har       any recording as HAR 1.2
    sandbox replay NAME -- COMMAND               re-run an agent against a recording, compare with the original
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from sandbox.cli.common import friendly as _friendly
from sandbox.cli.common import home_of as _home


@click.group()
def recordings() -> None:
    """Recorded episodes: list, show, scan for secrets, import HAR / mitmproxy flows, export HAR."""


@recordings.command("list")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="Recordings folder (default $SANDBOX_RECORDINGS or ./recordings).")
@_friendly
def list_(folder) -> None:
    """List recordings with their exchange count, task and source."""
    from sandbox.recordings.format import RecordingError, read_recording
    from sandbox.recordings.store import list_recordings

    for path in list_recordings(folder):
        try:
            rec = read_recording(path)
            click.echo(f"{path.stem}\t{len(rec.exchanges)} exchanges\ttask={rec.header.get('task') or '-'}"
                       f"\t{rec.header.get('source', '')}")
        except RecordingError as exc:
            click.echo(f"{path.stem}\tUNREADABLE: {exc.message}")


@recordings.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
@_friendly
def show(name, as_json) -> None:
    """Print a recording's header and one line per exchange."""
    from sandbox.recordings.store import load

    rec = load(name)
    if as_json:
        click.echo(json.dumps(rec.header, indent=2))
        return
    h = rec.header
    click.echo(f"{rec.path}: {len(rec.exchanges)} exchanges, format v{h['version']}, source {h.get('source')}, "
               f"seed {h.get('seed')}, task {h.get('task') or '-'}, on_miss {h.get('on_miss', 'error')}")
    for ex in rec.exchanges:
        stream = f" [{len(ex.response.events)} events]" if ex.response.events is not None else ""
        click.echo(f"  #{ex.seq:<4} {ex.request.method:<6} {ex.request.url}  -> {ex.response.status}{stream}  "
                   f"({ex.upstream})")


@recordings.command("scan")
@click.argument("names", nargs=-1)
@click.option("--ledgers", is_flag=True, help="Scan the ledger of every episode in the sandbox home too.")
@click.pass_context
@_friendly
def scan(ctx, names, ledgers) -> None:
    """Fail (exit 1) if any recording or ledger still holds a token-shaped string or an unredacted credential.

    \b
    NAMES: recording names or paths; a ledger.db; an episode's folder or a folder of episodes
    (every ledger.db in it and every recording). None: every recording (and, with --ledgers, every
    episode's ledger). A name that is not there is an error (exit 2).
    """
    from sandbox.episodes.ledger import scan_ledger
    from sandbox.recordings.scan import scan_file
    from sandbox.recordings.store import list_recordings

    recordings_found: list[Path] = []
    ledgers_found: list[Path] = []
    for name in names:
        found_recordings, found_ledgers = _scan_targets(name)
        recordings_found += found_recordings
        ledgers_found += found_ledgers
    if not names:
        recordings_found = list_recordings()
    if ledgers:
        ledgers_found += sorted(_home(ctx).episodes_dir.glob("*/ledger.db"))
    leaks = [leak for path in recordings_found for leak in scan_file(path)]
    leaks += [leak for path in ledgers_found for leak in scan_ledger(path)]
    for leak in leaks:
        click.echo(leak.render())
    scanned = f"{len(recordings_found)} recording(s)" + (f", {len(ledgers_found)} ledger(s)" if ledgers_found or
                                                         ledgers else "")
    click.echo(f"scanned {scanned}: {len(leaks)} secret(s) found", err=bool(leaks))
    sys.exit(1 if leaks else 0)


def _scan_targets(name: str) -> tuple[list[Path], list[Path]]:
    """(recordings, ledgers) that NAME stands for; a RecordingError (exit 2) if it names nothing."""
    from sandbox.recordings.format import RecordingError
    from sandbox.recordings.store import SUFFIX, resolve

    path = Path(name)
    if path.is_dir():
        ledgers = sorted({*path.glob("ledger.db"), *path.glob("*/ledger.db")})
        recordings = sorted(path.glob(f"*{SUFFIX}"))
        if not ledgers and not recordings:
            raise RecordingError(f"{path} holds no ledger.db and no recording",
                                 hint="give an episode's folder, the episodes folder, a ledger.db or a recording")
        return recordings, ledgers
    if path.suffix == ".db":
        if not path.is_file():
            raise RecordingError(f"no ledger at {path}", hint="`sandbox episodes list` shows the episodes")
        return [], [path]
    recording = resolve(name)
    if not recording.is_file():
        raise RecordingError(f"no recording at {recording}",
                             hint="give a recording name (`sandbox recordings list`), a path, a ledger.db or a folder")
    return [recording], []


@recordings.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["auto", "har", "mitmproxy"]), default="auto", show_default=True)
@click.option("--redact-field", "fields", multiple=True, help="More field names to redact (repeat).")
@click.option("--redact-pattern", "patterns", multiple=True, help="More regular expressions to redact (repeat).")
@_friendly
def import_(source, name, fmt, fields, patterns) -> None:
    """Import a HAR file (browsers, Charles, Insomnia, mitmproxy) or a mitmproxy flow file as NAME
    (a plain name: it is saved as <recordings folder>/NAME.jsonl)."""
    from sandbox.recordings.redact import Redactor
    from sandbox.recordings.store import require_name, resolve, save

    require_name(name)  # before the work: a path would be written where `list` never looks
    redactor = Redactor(tuple(fields), tuple(patterns), where="--redact-pattern")
    if fmt == "auto":
        fmt = "har" if source.lower().endswith((".har", ".json")) else "mitmproxy"
    if fmt == "har":
        from sandbox.recordings.har import read_har

        rec, skipped = read_har(source, redactor, name=name)
    else:
        from sandbox.recordings.mitm import read_flows

        rec, skipped = read_flows(source, redactor, name=name)
    target = save(rec, resolve(name))
    note = f" ({skipped} entries without a response skipped)" if skipped else ""
    click.echo(f"imported {len(rec.exchanges)} exchanges into {target}{note}")


@recordings.command("export")
@click.argument("name")
@click.argument("out", type=click.Path(dir_okay=False))
@_friendly
def export(name, out) -> None:
    """Export recording NAME as a HAR 1.2 file."""
    from sandbox.recordings.har import write_har
    from sandbox.recordings.store import load

    rec = load(name)
    click.echo(f"exported {len(rec.exchanges)} exchanges to {write_har(rec, out)}")


@click.command()
@click.argument("recording")
@click.argument("command", nargs=-1, required=True)
@click.option("--timeout", type=float, default=None,
              help="Seconds before the agent (and its children) is killed; default the recording's task's "
                   "limit, else 300.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--no-isolate", is_flag=True, help="Run the agent without its network namespace (see README: Isolation).")
@click.pass_context
@_friendly
def replay(ctx, recording, command, timeout, as_json, no_isolate) -> None:
    """Re-run COMMAND as an agent against RECORDING (a name or a path) and compare with the original run.

    \b
    sandbox replay refund-run -- python examples/careful_refund_agent.py

    Nothing is contacted: every request is answered from the recording. The episode is scored with
    the recording's task; exit status 0 if exchanges, state changes and score equal the original's,
    1 (and what changed) if not, 2 on bad input. An imported recording (HAR, mitmproxy flows) has no
    original run to compare with: exit status 0 with a note, unless a request had no recorded answer
    or the agent did not exit cleanly (1, and which).
    """
    from sandbox.recordings.compare import NOTHING_TO_COMPARE, differences, replay_problems, summarize
    from sandbox.recordings.redact import Redactor
    from sandbox.recordings.store import load

    home = _home(ctx)
    rec = load(recording)
    episode_id, ledger_path = _run_replay(home, rec, list(command), timeout, False if no_isolate else None)
    replayed = summarize(ledger_path, Redactor.from_config(rec.header.get("redact"), f"{rec.path}:1"))
    original = rec.header.get("original")
    changed = differences(original, replayed) if original else replay_problems(ledger_path)
    note = None if original else NOTHING_TO_COMPARE
    if as_json:
        click.echo(json.dumps({"episode": episode_id, "recording": str(rec.path), "replayed": replayed,
                               "differences": changed, "note": note}, indent=2))
    else:
        click.echo(f"replayed {rec.name} in episode {episode_id} (ledger {ledger_path})")
        if note:
            click.echo(note)
        same = "same exchanges, state changes and score as the original run" if original else (
            f"{len(replayed['exchanges'])} exchange(s), each answered from the recording; the agent exited cleanly")
        click.echo("\n".join(changed) if changed else same)
    sys.exit(1 if changed else 0)


def _run_replay(home, rec, command: list[str], timeout: float | None, isolate: bool | None = None
                ) -> tuple[str, Path]:
    from sandbox.run.supervisor import Sandbox, running_ports

    ports = running_ports(home)
    if ports:
        return _replay_in(home, rec, command, timeout, ports, isolate)
    with Sandbox(home, ephemeral=True) as sandbox:
        return _replay_in(home, rec, command, timeout, sandbox.ports, isolate)


DEFAULT_LIMIT_S = 300.0  # a recording without a task has no time limit of its own


def _replay_in(home, rec, command: list[str], timeout: float | None, ports, isolate: bool | None = None
               ) -> tuple[str, Path]:
    from sandbox.episodes.store import EpisodeStore
    from sandbox.isolation import isolation_for
    from sandbox.run.agent_env import agent_env
    from sandbox.run.runner import finish_and_score, run_process, run_task
    from sandbox.tasks.model import Task

    spec = rec.header.get("task_spec")
    if spec:  # run_task: the task's limit (unless --timeout), agent_exit event, score
        result = run_task(Task.from_spec(spec), command, home=home, ports=ports, timeout=timeout, mode="replay",
                          recording=str(rec.path), isolate=isolate)
        return result.episode.id, home.ledger_path(result.episode.id)
    store = EpisodeStore(home)  # no task (an imported recording): run, finish, compare the traffic only
    try:
        episode = store.create(int(rec.header.get("seed") or 0), mode="replay", recording=str(rec.path))
        env = {**os.environ, **agent_env(home, episode, ports)}
        limit = timeout if timeout is not None else DEFAULT_LIMIT_S
        isolation, isolated = isolation_for(isolate, home, ports, env)
        started = time.monotonic()
        # Its own process group, killed whole at the limit: a hung agent never hangs the replay.
        exit_code, timed_out, error = run_process(command, env, limit, isolation=isolation)
        detail = {"exit_code": exit_code, "timed_out": timed_out,
                  "seconds": round(time.monotonic() - started, 3), "command": command, **isolated}
        if error:
            detail["error"] = error
        with store.ledger(episode.id) as ledger:
            ledger.record_event("agent_exit", detail)
        finish_and_score(store, episode.id, {"agent": detail})
        return episode.id, home.ledger_path(episode.id)
    finally:
        store.close()
