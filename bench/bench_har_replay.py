"""How many exchanges of real-world HAR captures replay exactly through the sandbox proxy.

    python bench/bench_har_replay.py [MORE.har ...]

Each capture (tests/fixtures/har/*.har, ../shared/har/*.har when present, and any file given; the
same file twice is counted once) is imported as `sandbox recordings import` does, and replayed by a
real `python -m sandbox.proxy` in a replay episode: every recorded request, in recorded order, on
one kept-alive connection per origin (CONNECT + TLS for https, as a browser or an SDK does). An
exchange replays exactly when its answer has the recorded status, the recorded body (none where
HTTP allows none: HEAD, 1xx, 204, 304) and every recorded header but the framing ones, and the
next answer on its connection is intact (after the last one, a request the recording does not
have: the proxy's miss must parse). Nothing is contacted: the proxy answers from the recordings.

Writes bench/results/har_replay.json and bench/results/har_replay.md.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.proxy.keepalive: the client and the check the tests use

import mitmproxy.version  # noqa: E402

from sandbox.episodes.store import EpisodeStore  # noqa: E402
from sandbox.home import Home  # noqa: E402
from sandbox.recordings.har import read_har  # noqa: E402
from sandbox.recordings.store import save  # noqa: E402
from tests.proxy.conftest import running_proxy  # noqa: E402
from tests.proxy.keepalive import KeepAlive, replay_exactly  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def captures(extra: list[str]) -> list[Path]:
    found = sorted((ROOT / "tests" / "fixtures" / "har").glob("*.har"))
    found += sorted((ROOT.parent / "shared" / "har").glob("*.har"))
    found += [Path(p) for p in extra]
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
    return list(unique.values())


def main(argv: list[str]) -> int:
    files = captures(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(Path(tmp) / "home")
        store = EpisodeStore(home)
        with running_proxy(home) as proxy:
            for path in files:
                recording, skipped = read_har(path)
                saved = save(recording, Path(tmp) / f"{path.stem}.jsonl")
                episode = store.create(seed=7, mode="replay", recording=str(saved))
                client = KeepAlive(proxy.port, episode.id, episode.token, home.ca_cert)
                try:
                    results = replay_exactly(client, recording)
                finally:
                    client.close()
                inexact = {seq: diff for seq, diff in results.items() if diff}
                rows.append({"file": path.name, "entries": len(recording.exchanges) + skipped,
                             "skipped_no_response": skipped, "exchanges": len(results),
                             "exact": len(results) - len(inexact), "connections": client.opened,
                             "inexact": {str(seq): diff for seq, diff in inexact.items()}})
        store.close()
    total = sum(r["exchanges"] for r in rows)
    exact = sum(r["exact"] for r in rows)
    summary = {"when": datetime.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
               "mitmproxy": mitmproxy.version.VERSION, "files": len(rows), "exchanges": total, "exact": exact,
               "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "har_replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["# HAR replay exactness", "",
             f"`python bench/bench_har_replay.py` on {summary['when']}: Python {summary['python']}, mitmproxy "
             f"{summary['mitmproxy']}. **{exact} of {total}** exchanges of {len(rows)} captures replay exactly "
             "(status, body, headers; the next answer on the kept-alive connection intact).", "",
             "| capture | entries | skipped (no response) | replayed | exact | connections | what differed |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        why = "; ".join(f"#{seq}: {', '.join(diff)}" for seq, diff in r["inexact"].items()).replace("\n", " ") or "–"
        lines.append(f"| {r['file']} | {r['entries']} | {r['skipped_no_response']} | {r['exchanges']} | {r['exact']} "
                     f"| {r['connections']} | {why} |")
    (RESULTS / "har_replay.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if exact == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
