"""A browser for the browser oracles: Debian's Chromium driven by Playwright, configured only from
the agent environment `sandbox env` / `sandbox run` gives, like the SDK oracles' clients.

- HTTPS_PROXY (with the episode's credentials in its userinfo) is Chromium's proxy, so every page
  load is an exchange in the episode's ledger;
- the sandbox CA (SSL_CERT_FILE) is trusted by its key, not by turning certificate checks off:
  `--ignore-certificate-errors-spki-list=<sha256 of the CA's SubjectPublicKeyInfo>` makes Chromium
  accept only chains that contain that key, so a certificate from any other CA still fails;
- a fresh profile (`--user-data-dir` in a temporary folder) per session: no cookies, cache or
  history carried from one episode to the next;
- no background traffic (updates, safe browsing, metrics): a request the agent did not make would
  be an error in the episode's efficiency score.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sandbox.errors import ConfigError

CHROMIUM = "/usr/bin/chromium"
HEADLESS_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-domain-reliability", "--disable-sync", "--metrics-recording-only",
                 "--no-default-browser-check",
                 # Chromium's own calls home (form-autofill hints, translation, optimization hints): each would
                 # be a refused request in the episode's ledger.
                 "--disable-features=AutofillServerCommunication,Translate,OptimizationHints,MediaRouter,"
                 "CertificateTransparencyComponentUpdater,HttpsUpgrades,InterestFeedContentSuggestions"]
VIEWPORT = {"width": 1200, "height": 800}
# How long a click or wait may take before the oracle gives up (Playwright's default is 30 s): long
# enough for a slow list, short enough that a naive oracle stuck behind a banner fails quickly.
TIMEOUT_SECONDS = 10.0


def proxy_settings(env: Mapping[str, str]) -> dict[str, str]:
    """Playwright's proxy option from HTTPS_PROXY (`http://<episode>:<token>@127.0.0.1:<port>`)."""
    url = env.get("HTTPS_PROXY") or env.get("https_proxy")
    if not url:
        raise ConfigError("HTTPS_PROXY is not set: the browser would bypass the sandbox proxy",
                          hint="run the oracle with `sandbox run` or under `eval \"$(sandbox env)\"`")
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ConfigError(f"HTTPS_PROXY {url!r} names no host and port", hint="expected http://user:pass@host:port")
    proxy = {"server": f"{parts.scheme or 'http'}://{parts.hostname}:{parts.port}"}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    return proxy


def spki_hash(ca_file: str | Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the first certificate in `ca_file` (PEM), the form
    Chromium's --ignore-certificate-errors-spki-list takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    path = Path(ca_file)
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: the sandbox CA certificate does not exist",
                          hint="SSL_CERT_FILE must name the CA `sandbox env` gives (start the sandbox first)") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not a PEM certificate ({exc})",
                          hint="SSL_CERT_FILE must name the sandbox CA's PEM file") from None
    der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def chromium_args(ca_file: str | Path) -> list[str]:
    return [*HEADLESS_ARGS, f"--ignore-certificate-errors-spki-list={spki_hash(ca_file)}"]


@contextlib.contextmanager
def browser_page(env: Mapping[str, str] | None = None, *, chromium: str = CHROMIUM,
                 record: list[str] | None = None) -> Iterator[Any]:
    """A Playwright `Page` in a fresh Chromium profile, through the episode's proxy, trusting only the
    sandbox CA (from `env`, default os.environ). `record`, if given, collects every URL requested."""
    env = os.environ if env is None else env
    if not Path(chromium).exists():
        raise ConfigError(f"{chromium} is not installed: the browser oracles drive Debian's Chromium",
                          hint="apt-get install chromium")
    ca_file = env.get("SSL_CERT_FILE")
    if not ca_file:
        raise ConfigError("SSL_CERT_FILE is not set: the browser could not trust the sandbox CA",
                          hint="run the oracle with `sandbox run` or under `eval \"$(sandbox env)\"`")
    args, proxy = chromium_args(ca_file), proxy_settings(env)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sandbox-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=args, proxy=proxy, viewport=VIEWPORT,
            ignore_https_errors=False, service_workers="block")
        try:
            context.set_default_timeout(float(env.get("SANDBOX_BROWSER_TIMEOUT", TIMEOUT_SECONDS)) * 1000)
            page = context.pages[0] if context.pages else context.new_page()
            if record is not None:
                page.on("request", lambda request: record.append(request.url))
            yield page
        finally:
            context.close()
