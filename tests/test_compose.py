"""The compose files, checked where no Docker engine runs (the real `up` is .ci/compose's job): the
file parses, every part has a health check and publishes only on loopback, every command it runs is
a real command of our CLI with options that command accepts, the home is the host folder agents
read, and the build context keeps the sandbox home's secrets and .git out of the image."""

import re
from pathlib import Path

import click
import pytest
import yaml

from sandbox.cli import main

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def interpolate(text: str) -> str:
    """${VAR:-default} as docker compose fills it in with no VAR set."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), text)


def compose_spec() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text()))


def check_cli(argv: list[str]) -> None:
    """`argv` runs our CLI (or the health module) with options it accepts."""
    if argv[:3] == ["python", "-m", "sandbox.run.health"]:
        assert len(argv) == 4 and argv[3].startswith("http://127.0.0.1:"), argv
        return
    assert argv[0] == "sandbox", f"{argv} does not run our CLI"
    name, args = argv[1], argv[2:]
    assert name in main.commands, f"sandbox {name} is not a command"
    command = main.commands[name]
    if name == "proxy":  # passes its options to the proxy's own parser
        from sandbox.proxy.server import build_parser

        build_parser().parse_args(["--home", "/tmp/h", *args])
    else:
        with click.Context(main) as parent:
            command.make_context(name, list(args), parent=parent)


def test_compose_file_runs_only_our_commands_with_valid_options():
    spec = compose_spec()
    from services import _MODULES

    # Every registered fake runs as its own container, and the proxy routes to each.
    assert set(spec["services"]) == {"proxy", "control", *_MODULES}
    proxy_args = spec["services"]["proxy"]["command"]
    routed = {proxy_args[i + 1].split("=")[0] for i, arg in enumerate(proxy_args) if arg == "--service"}
    assert routed == set(_MODULES)
    for name, service in spec["services"].items():
        check_cli(service["command"])
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD"
        check_cli(test[1:])
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
        assert "./.sandbox/compose:/sandbox-home" in service["volumes"]
        assert service["user"] == "10001:10001" and service["init"] is True
    assert "proxy" in spec["services"] and spec["services"]["proxy"]["depends_on"]


def test_the_control_container_publishes_what_docker_publishes():
    """`sandbox env --home` on the host builds the env from --publish (sandbox/run/published.py):
    each NAME=PORT must be the host port docker publishes that part's container port on."""
    from sandbox.run.published import parse_publish

    spec = compose_spec()
    argv = spec["services"]["control"]["command"]
    published = parse_publish(argv[i + 1] for i, arg in enumerate(argv) if arg == "--publish")
    host_ports = {name: int(service["ports"][0].split(":")[1]) for name, service in spec["services"].items()}
    assert {"proxy": published["proxy"], "control": published["control"], **published["services"]} == host_ports


def test_parts_listening_beyond_loopback_in_their_container_say_so():
    """Each part refuses a non-loopback address without --allow-remote (sandbox/run/bind.py); in a
    container it must listen on 0.0.0.0, so the compose file has to say --allow-remote, and
    without it the part would refuse to start."""
    from sandbox.errors import ConfigError
    from sandbox.run.bind import is_loopback, require_loopback

    for name, service in compose_spec()["services"].items():
        argv = service["command"]
        hosts = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--host", "--listen-host")]
        assert hosts, f"{name} does not say where it listens"
        for host in hosts:
            if not is_loopback(host):
                assert "--allow-remote" in argv, f"{name} listens on {host} without --allow-remote"
                require_loopback(host, True)
                with pytest.raises(ConfigError, match="--allow-remote"):
                    require_loopback(host, False)


def test_the_image_builds_from_a_chosen_base_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.M)
    assert re.findall(r"^USER (\S+)$", dockerfile, re.M)[-1] == "10001:10001"
    assert '".[agents]"' in dockerfile and "COPY examples" in dockerfile
    assert compose_spec()["x-sandbox"]["build"]["args"]["BASE_IMAGE"] == "python:3.11-slim"


@pytest.mark.parametrize("path", [".sandbox/ca/mitmproxy-ca.pem", ".sandbox/compose/control.token", ".git/config",
                                  ".venv/bin/python", "tools/mcp-servers/node_modules/x/index.js",
                                  "sandbox/__pycache__/x.pyc", "deep/.sandbox/control.db"])
def test_the_build_context_leaves_out_secrets_and_bulk(path):
    """What docker sends to the daemon, by docker's rules approximated with fnmatch (a path is out
    when it or a folder above it matches a pattern); .ci/compose lists the real context."""
    from fnmatch import fnmatch

    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(candidate: str) -> bool:
        parts = candidate.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch(prefix, pattern.replace("**/", "*")) or fnmatch(prefix, pattern)
                   for pattern in patterns for prefix in prefixes)

    assert ignored(path), f"{path} would enter the image's build context"
    for needed in ("sandbox/cli/__init__.py", "services/payments/__init__.py", "examples/careful_refund_agent.py",
                   "pyproject.toml", "README.md", "deploy/docker/entrypoint.sh"):
        assert not ignored(needed), f"{needed} is needed by the Dockerfile but left out of the context"
