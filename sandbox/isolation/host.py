"""The host side of isolation: whether to isolate (`decide`), and what the launcher needs to know
about an episode (`Isolation`: its targets, vendor hostnames, what to hide). See the package doc."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.errors import ConfigError
from sandbox.isolation.namespaces import available

VENDOR_IP = "127.0.0.2"  # where every vendor hostname resolves inside the namespace (the relay)
DISABLED = "--no-isolate"
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder that holds `sandbox/`
LAUNCH = f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); from sandbox.isolation.launch import main; main()"
_warned = False


def decide(isolate: bool | None) -> tuple[bool, str | None]:
    """(isolate?, why not). `None` = on where available; where not, one warning per process on
    stderr and the agent runs without. `True` = required: a ConfigError if unavailable."""
    global _warned
    if isolate is False:
        return False, DISABLED
    ok, why = available()
    if ok:
        return True, None
    if isolate:
        raise ConfigError(f"isolation unavailable: {why}",
                          hint="enable unprivileged user namespaces, or run without isolation (--no-isolate)")
    if not _warned:
        _warned = True
        sys.stderr.write(f"isolation unavailable: {why}; running the agent without it: a client that ignores "
                         "HTTPS_PROXY can reach the network — pass --no-isolate to silence this\n")
    return False, why


@dataclass(frozen=True)
class Isolation:
    """What the launcher needs: the host ports the relay may reach (by name), the vendor hostnames
    to resolve to the relay, the folders to hide from the agent and the files in them to keep."""

    targets: Mapping[str, int]  # "proxy" and each fake's service id -> its port on 127.0.0.1
    hosts: tuple[str, ...]  # concrete vendor hostnames (wildcard routes made concrete)
    hide: tuple[str, ...]  # folders replaced by an empty tmpfs (the sandbox home)
    keep: tuple[str, ...] = ()  # files under `hide` put back (the CA certificate)
    vendor_ip: str = VENDOR_IP
    webhooks: int | None = None  # the webhook mailbox's port: a gate target for the relay alone

    @classmethod
    def for_episode(cls, home: Any, ports: Mapping[str, Any], env: Mapping[str, str],
                    routed: Iterable[str] = ()) -> Isolation:
        """The isolation of an agent of the sandbox on `home` (a Home), given the sandbox's `ports`
        and the agent's environment `env` (for the concrete names of wildcard routes). `routed`: the
        episode's routed hosts (api.openai.com sent to a model server); the sandbox's own, from
        `ports["routes"]`, are added. They resolve to the relay like vendor hosts."""
        from services import all_services

        targets = {"proxy": int(ports["proxy"])}
        targets.update({service: int(port) for service, port in (ports.get("services") or {}).items() if port})
        hosts: list[str] = []
        for spec in all_services():
            for host in spec.hosts:
                hosts += concrete_hosts(host, env) if host.startswith("*.") else [host]
        hosts += [*routed, *(ports.get("routes") or ())]
        # Only files under the hidden home are put back: anything else the agent sees as it is.
        keep = [str(path) for path in {Path(home.ca_cert), Path(env.get("SSL_CERT_FILE") or home.ca_cert)}
                if Path(home.root) in path.resolve().parents]
        webhooks = int(ports["webhooks"]) if ports.get("webhooks") else None
        return cls(targets, tuple(dict.fromkeys(hosts)), (str(home.root),), tuple(sorted(keep)), webhooks=webhooks)

    def spec(self) -> str:
        return json.dumps({"targets": dict(self.targets), "hosts": list(self.hosts), "hide": list(self.hide),
                           "keep": list(self.keep), "vendor_ip": self.vendor_ip, "webhooks": self.webhooks},
                          separators=(",", ":"))

    def wrap(self, command: list[str]) -> list[str]:
        """The launcher's command line around `command`: `python -m sandbox.isolation.launch`, in
        effect, but isolated mode (-I: no PYTHONPATH or user site of the agent's environment) and
        without `site` (-S), which with its path hooks is half of Python's start-up time."""
        return [sys.executable, "-I", "-S", "-c", LAUNCH, "--spec", self.spec(), "--", *command]

    def check(self, command: list[str], env: Mapping[str, str], cwd: str | None = None) -> str | None:
        """Why `command` cannot start isolated, in the words Popen would use, else None. Checked
        here because inside the namespace an exec failure is only an exit status."""
        program = command[0]
        found = shutil.which(program, path=env.get("PATH", os.defpath)) if "/" not in program else program
        if found is None or not os.path.exists(found):
            return f"{program}: No such file or directory"
        where = Path(cwd or os.getcwd()).resolve()
        for folder in self.hide:
            hidden = Path(folder)
            for path in (where, Path(found).resolve(), *(Path(a).resolve() for a in command[1:] if os.path.exists(a))):
                if path == hidden or hidden in path.parents:
                    return (f"{path} is inside the sandbox home {hidden}, which isolation hides from the agent: "
                            "keep the agent and its working directory outside the home, or pass --no-isolate")
        return None


def concrete_hosts(pattern: str, env: Mapping[str, str]) -> list[str]:
    """`*.zendesk.com` → the subdomains the agent's environment names (ZENDESK_SUBDOMAIN=acme →
    acme.zendesk.com; a URL on the suffix counts too). Any other name resolves to the relay as well,
    through its DNS answer: these entries serve clients that only read /etc/hosts."""
    suffix = pattern[2:]
    out = []
    for name, value in env.items():
        host = (urlsplit(value).hostname or "") if "://" in value else value
        if name.endswith("_SUBDOMAIN") and value and "." not in value:
            host = f"{value}.{suffix}"
        if host.endswith("." + suffix):
            out.append(host.lower())
    return sorted(set(out))


def isolation_for(isolate: bool | None, home: Any, ports: Mapping[str, Any], env: Mapping[str, str],
                  routed: Iterable[str] = ()) -> tuple[Isolation | None, dict[str, Any]]:
    """For a runner: (the Isolation to run an agent in, or None; what the agent_exit event says
    about it: `isolated`, and `isolation` = why not). `routed`: the episode's routed hosts."""
    on, why = decide(isolate)
    if not on:
        return None, {"isolated": False, "isolation": why}
    return Isolation.for_episode(home, ports, env, routed), {"isolated": True}


NO_ISOLATE_HELP = ("Run the agent without isolation (by default, on Linux, it runs in a network namespace whose "
                   "only way out is the proxy).")
