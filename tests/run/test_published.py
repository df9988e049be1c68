"""A sandbox under docker compose: the control container writes the ports the host reaches each part
on (published.json), and `sandbox env --home <compose home>` on the host gives an agent its env."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.episodes.store import EpisodeStore
from sandbox.errors import ConfigError
from sandbox.home import Home
from sandbox.run.published import parse_publish, published_file, published_ports, reachable_ports, write_published

COMPOSE_PUBLISH = ["proxy=8080", "control=8090", "payments=8101", "helpdesk=8102", "chat=8103", "code=8104"]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something answers on, as docker-proxy does for a published proxy."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_publish_items_become_a_ports_file():
    ports = parse_publish(COMPOSE_PUBLISH)
    assert ports == {"proxy": 8080, "control": 8090,
                     "services": {"payments": 8101, "helpdesk": 8102, "chat": 8103, "code": 8104}}


@pytest.mark.parametrize(("items", "words"), [
    (["proxy:8080"], "is not NAME=PORT"),
    (["proxy=0"], "from 1 to 65535"),
    (["proxy=http"], "is not NAME=PORT"),
    (["proxy=8080", "paymnts=8101"], "did you mean 'payments'"),
    (["proxy=8080", "proxy=8081"], "names proxy twice"),
    (["control=8090"], "--publish proxy=PORT"),
])
def test_a_bad_publish_names_the_item_and_the_fix(items, words):
    with pytest.raises(ConfigError) as failed:
        parse_publish(items)
    assert words in f"{failed.value.message} {failed.value.hint}"


def test_the_file_round_trips_and_a_broken_one_is_named(tmp_path):
    home = Home.resolve(tmp_path / "home")
    assert published_ports(home) is None and reachable_ports(home) is None  # not a compose home
    write_published(home, parse_publish(COMPOSE_PUBLISH))
    assert published_ports(home) == parse_publish(COMPOSE_PUBLISH)
    assert not list(home.run_dir.glob("*.tmp"))
    published_file(home).write_text("{half")
    with pytest.raises(ConfigError, match="published.json is not JSON"):
        published_ports(home)
    published_file(home).write_text(json.dumps({"control": 8090}))
    with pytest.raises(ConfigError, match="names no proxy port"):
        published_ports(home)


def test_sandbox_env_on_the_host_reads_a_compose_home(tmp_path, listening):
    home = Home.resolve(tmp_path / "compose")
    store = EpisodeStore(home)
    episode = store.create(7)
    store.close()
    runner = CliRunner()

    refused = runner.invoke(main, ["--home", str(home.root), "env", episode.id])
    assert refused.exit_code == 2 and "--home .sandbox/compose" in refused.output

    write_published(home, parse_publish([f"proxy={listening}", "payments=18101"]))
    shown = runner.invoke(main, ["--home", str(home.root), "env", "--json", episode.id])
    assert shown.exit_code == 0, shown.output
    env = json.loads(shown.output)
    assert env["HTTPS_PROXY"] == f"http://{episode.id}:{episode.token}@127.0.0.1:{listening}"
    assert env["SSL_CERT_FILE"] == str(home.ca_cert)  # the host's path of the CA the containers made
    assert env["SANDBOX_PAYMENTS_URL"] == "http://127.0.0.1:18101"


def test_a_compose_home_whose_proxy_is_down_says_so(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]  # closed when the block ends: nothing answers there after
    home = Home.resolve(tmp_path / "compose")
    write_published(home, {"proxy": port, "services": {}})
    with pytest.raises(ConfigError) as failed:
        reachable_ports(home)
    assert f"127.0.0.1:{port}" in failed.value.message and "docker compose up -d" in failed.value.hint


def test_sandbox_control_refuses_a_bad_publish_before_it_serves(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "control", "--publish", "prox=8080"])
    assert result.exit_code == 2 and "did you mean 'proxy'" in result.output
