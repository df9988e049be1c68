"""Is a part up? `python -m sandbox.run.health URL` exits 0 if URL answers 200, else 1.

The containers' health checks (docker-compose.yml, deploy/k8s/sandbox.yaml) run it every few
seconds in each of six containers, so it imports nothing but urllib: `sandbox ping` (the same check
through the CLI) imports the whole CLI first, about 0.4 s of CPU a time on this project's machine."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def ping(url: str, timeout: float = 3.0) -> str | None:
    """None if `url` answers 200 (never through a proxy), else why not."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return None if resp.status == 200 else f"status {resp.status}"
    except urllib.error.HTTPError as exc:
        with exc:  # its answer holds the connection open
            return f"status {exc.code}"
    except OSError as exc:
        return str(exc)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sandbox.run.health URL", file=sys.stderr)
        sys.exit(2)
    problem = ping(args[0])
    if problem:
        print(f"{args[0]}: {problem}", file=sys.stderr)
    sys.exit(1 if problem else 0)


if __name__ == "__main__":
    main()
