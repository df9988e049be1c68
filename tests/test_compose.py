"""No Docker engine runs here, so check what can be checked: the file parses, every part has a
healthcheck and publishes only on loopback, and every command it runs is a real command of our CLI
with options that command accepts."""

from pathlib import Path

import click
import pytest
import yaml

from sandbox.cli import main

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _check_cli(argv: list[str]) -> None:
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
    spec = yaml.safe_load(COMPOSE.read_text())
    from services import _MODULES

    # Every registered fake runs as its own container, and the proxy routes to each.
    assert set(spec["services"]) == {"proxy", "control", *_MODULES}
    proxy_args = spec["services"]["proxy"]["command"]
    routed = {proxy_args[i + 1].split("=")[0] for i, arg in enumerate(proxy_args) if arg == "--service"}
    assert routed == set(_MODULES)
    for name, service in spec["services"].items():
        _check_cli(service["command"])
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD"
        _check_cli(test[1:])
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
        assert "sandbox-home:/sandbox-home" in service["volumes"]
    assert "proxy" in spec["services"] and spec["services"]["proxy"]["depends_on"]


def test_parts_listening_beyond_loopback_in_their_container_say_so():
    """Each part refuses a non-loopback address without --allow-remote (sandbox/run/bind.py); in a
    container it must listen on 0.0.0.0, so the compose file has to say --allow-remote, and
    without it the part would refuse to start."""
    from sandbox.errors import ConfigError
    from sandbox.run.bind import is_loopback, require_loopback

    spec = yaml.safe_load(COMPOSE.read_text())
    for name, service in spec["services"].items():
        argv = service["command"]
        hosts = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--host", "--listen-host")]
        assert hosts, f"{name} does not say where it listens"
        for host in hosts:
            if not is_loopback(host):
                assert "--allow-remote" in argv, f"{name} listens on {host} without --allow-remote"
                require_loopback(host, True)
                with pytest.raises(ConfigError, match="--allow-remote"):
                    require_loopback(host, False)
