"""Where the host reaches a sandbox that runs in containers: the ports docker compose publishes.

`sandbox up` writes <home>/run/ports.json with its supervisor's pid; a sandbox under docker compose
has no supervisor on the host, and its parts cannot see which host ports they are published on. So
the control container is told (`sandbox control --publish proxy=8080 ...`, in docker-compose.yml)
and writes <home>/run/published.json, shaped like ports.json:

    {"proxy": 8080, "control": 8090, "services": {"payments": 8101, ...}}

`sandbox env --home <compose home>` and the control API's GET /episodes/<id>/env read it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigError, did_you_mean
from sandbox.home import Home

PARTS = ("proxy", "control")  # published besides the fakes


def published_file(home: Home) -> Path:
    return home.run_dir / "published.json"


def parse_publish(items: Iterable[str], where: str = "--publish") -> dict[str, Any]:
    """`NAME=PORT` items (NAME: proxy, control or a fake) as a ports.json-shaped dict; the proxy
    is required, since an agent's environment is its proxy URL."""
    from services import _MODULES

    names = (*PARTS, *_MODULES)
    ports: dict[str, Any] = {"services": {}}
    for item in items:
        name, eq, port = item.partition("=")
        if not eq or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(f"{where} {item!r} is not NAME=PORT with a port from 1 to 65535",
                              hint="e.g. --publish proxy=8080 (the host port docker publishes the proxy on)")
        if name not in names:
            raise ConfigError(f"{where} {item!r}: {name!r} is not a part of the sandbox",
                              hint=did_you_mean(name, names) or f"parts: {', '.join(names)}")
        table = ports if name in PARTS else ports["services"]
        if name in table:
            raise ConfigError(f"{where} names {name} twice", hint="give each part one --publish")
        table[name] = int(port)
    if "proxy" not in ports:
        raise ConfigError(f"{where} does not name the proxy's port",
                          hint="add --publish proxy=PORT: agents reach the sandbox through it")
    return ports


def write_published(home: Home, ports: dict[str, Any]) -> None:
    """Write published.json whole (a reader never sees half of it)."""
    path = published_file(home)
    tmp = path.with_name(f"published.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(ports, indent=2, sort_keys=True))
    tmp.replace(path)


def published_ports(home: Home) -> dict[str, Any] | None:
    """The ports in `home`'s published.json; None when there is none (not a compose home)."""
    try:
        ports = json.loads(published_file(home).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ConfigError(f"{published_file(home)} is not JSON ({exc})",
                          hint="restart the control container: it writes the file whole at start") from None
    if not isinstance(ports, dict) or not isinstance(ports.get("proxy"), int):
        raise ConfigError(f"{published_file(home)} names no proxy port",
                          hint="restart the control container with --publish proxy=PORT")
    return ports


def reachable_ports(home: Home, host: str = "127.0.0.1", timeout: float = 1.0) -> dict[str, Any] | None:
    """The published ports of a compose home whose proxy answers on `host`; None for a home that
    is not a compose home; a ConfigError when it is one and its proxy does not answer."""
    ports = published_ports(home)
    if ports is None:
        return None
    try:
        with socket.create_connection((host, ports["proxy"]), timeout=timeout):
            pass
    except OSError:
        raise ConfigError(f"the sandbox in {home.root} is published on {host}:{ports['proxy']} (its "
                          "published.json says so), and nothing answers there",
                          hint="start it with `docker compose up -d` (`docker compose ps` shows each part's "
                               "health), or with `sandbox up` on a home of its own") from None
    return ports
