"""The browser oracles' Chromium: through the episode's proxy (its credentials from HTTPS_PROXY),
trusting the sandbox CA by its key and nothing else. A real proxy, a real helpdesk fake, a real
Chromium; a second, unrelated CA shows that the trust is not a blanket `ignore certificate errors`."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.episodes.ledger import Ledger
from sandbox.episodes.store import EpisodeStore
from sandbox.errors import ConfigError
from sandbox.home import Home
from sandbox.run.agent_env import agent_env
from sandbox.run.supervisor import running_service
from sandbox.tasks.oracles.browser.session import CHROMIUM, browser_page, proxy_settings, spki_hash
from sandbox.world import world
from tests.proxy.conftest import running_proxy

HOST = world(7).org.helpdesk_host  # type: ignore[union-attr]


def other_ca(path: Path) -> Path:
    """A self-signed CA that signed nothing the proxy serves."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the sandbox CA")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def settled_exchanges(home: Home, episode_id: str) -> list[dict]:
    """The episode's exchanges once none is pending: the proxy finishes a row after the response."""
    for _ in range(50):
        with Ledger(home.ledger_path(episode_id)) as ledger:
            exchanges = ledger.exchanges()
        if all(e["outcome"] != "pending" for e in exchanges):
            return exchanges
        time.sleep(0.1)
    return exchanges


@pytest.fixture(scope="module")
def episode_env(tmp_path_factory) -> Iterator[tuple[Home, dict[str, str], str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no browser to drive")
    home = Home.resolve(tmp_path_factory.mktemp("browser-session-home"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_SERVICES", "helpdesk")  # one fake is enough to load a page through the proxy
        store = EpisodeStore(home)
        store.prepare(7)
        episode = store.create(7)
        with running_service(home, "helpdesk") as port:
            with running_proxy(home, "--service", f"helpdesk={port}", "--route", f"{HOST}=helpdesk") as proxy:
                yield home, agent_env(home, episode, {"proxy": proxy.port}), episode.id
        store.close()


@pytest.mark.slow
def test_chromium_trusts_the_sandbox_ca_through_the_episode_proxy(episode_env):
    home, env, episode_id = episode_env
    requested: list[str] = []
    with browser_page(env, record=requested) as page:
        response = page.goto(f"https://{HOST}/agent/login")
        assert response is not None and response.status == 200
        assert page.locator("#api-token").count() == 1
        assert response.security_details()["issuer"] == "mitmproxy"  # the sandbox CA's leaf, checked
    assert requested == [f"https://{HOST}/agent/login"]  # the page's own requests: just the page
    exchanges = settled_exchanges(home, episode_id)
    # Nothing but the page: no /favicon.ico (the page declares its icon), no call home.
    assert [(e["host"], e["path"], e["status"], e["outcome"]) for e in exchanges] == [
        (HOST, "/agent/login", 200, "routed")]


@pytest.mark.slow
def test_a_certificate_from_another_ca_is_refused(episode_env, tmp_path):
    _, env, _ = episode_env
    wrong = {**env, "SSL_CERT_FILE": str(other_ca(tmp_path / "other-ca.pem"))}
    from playwright.sync_api import Error as PlaywrightError

    with browser_page(wrong) as page, pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
        page.goto(f"https://{HOST}/agent/login")


def test_the_proxy_and_its_episode_credentials_come_from_https_proxy():
    env = {"HTTPS_PROXY": "http://ep-1:t%40ken@127.0.0.1:8080"}
    proxy = proxy_settings(env)
    assert proxy == {"server": "http://127.0.0.1:8080", "username": "ep-1", "password": "t@ken",
                     "bypass": proxy["bypass"]}
    # Only the browser's own infrastructure goes around the proxy (to nowhere): no vendor host.
    assert "stripe" not in proxy["bypass"] and "zendesk" not in proxy["bypass"] and "*" != proxy["bypass"]


def test_no_proxy_or_no_ca_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="HTTPS_PROXY is not set"):
        proxy_settings({})
    with pytest.raises(ConfigError, match="does not exist"):
        spki_hash(tmp_path / "missing.pem")
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="junk.pem: not a PEM certificate"):
        spki_hash(tmp_path / "junk.pem")
