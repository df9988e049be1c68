"""Where the sandbox's servers may listen: loopback, unless the operator says otherwise.

The proxy, the fakes and the control API all trust whoever reaches them a little (the proxy hands
out episodes' traffic to anyone with credentials, a fake answers any valid fake key, the control
API creates episodes): on a shared network, listening on 0.0.0.0 would offer that to every
neighbour. So each refuses a non-loopback address unless `--allow-remote` is given, which is meant
for containers whose ports are published on the host's loopback only (docker-compose.yml).
"""

from __future__ import annotations

import ipaddress

from sandbox.errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for any other name,
    including "" and 0.0.0.0, which mean every interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def require_loopback(host: str, allow_remote: bool, what: str = "the control API") -> None:
    """Refuse to listen on `host` unless it is loopback or the operator passed --allow-remote."""
    if not allow_remote and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host or 'every interface'}: {what} is for this machine only",
            hint="use 127.0.0.1, or pass --allow-remote inside a container whose port is published on loopback",
        )
