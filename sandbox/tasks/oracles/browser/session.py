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
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sandbox.errors import ConfigError

CHROMIUM = "/usr/bin/chromium"
# Debian's /usr/bin/chromium is a shell wrapper that adds flags from /etc/chromium.d, among them
# --enable-remote-extensions (extension update checks to update.googleapis.com): the browser itself,
# started directly, has none of them.
DEBIAN_BINARY = "/usr/lib/chromium/chromium"
# Chromium takes only the last --disable-features: this repeats Playwright's own list (network time,
# optimization hints, search preconnects, ...) and adds Chromium's other calls home (form-autofill
# hints, password leak checks, translation, model downloads): each would be a refused request in the
# episode's ledger, an error in its efficiency score.
DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled",
    "PreconnectToSearch",
    "AutofillServerCommunication", "PasswordLeakDetection", "Translate", "OptimizationHintsFetching",
    "OptimizationGuideModelDownloading", "OptimizationTargetPrediction", "CertificateTransparencyComponentUpdater",
    "InterestFeedContentSuggestions",
)
HEADLESS_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-domain-reliability", "--disable-sync", "--metrics-recording-only",
                 "--no-default-browser-check",
                 "--disable-features=" + ",".join(DISABLED_FEATURES),
                 "--password-store=basic", "--disable-client-side-phishing-detection"]
# What is left of Chromium's own traffic (on-demand component and spell-check dictionary downloads,
# account checks) goes to Google's infrastructure hosts only: those bypass the proxy and resolve to
# nothing, so they fail inside the browser, never leave the machine and are not the agent's calls.
# No vendor a task uses lives there.
BROWSER_INFRASTRUCTURE = ("*.gvt1.com", "*.googleapis.com", "accounts.google.com", "clients2.google.com",
                          "clients2.googleusercontent.com")
# The profile's preferences, written before the first start: no password manager (filling the
# API-token field would send a leak check to Google), no browser sign-in (accounts.google.com),
# no safe-browsing lookups.
PREFERENCES = {
    "credentials_enable_service": False,
    "profile": {"password_manager_enabled": False, "password_manager_leak_detection": False},
    "signin": {"allowed": False, "allowed_on_next_startup": False},
    "safebrowsing": {"enabled": False},
    "browser": {"has_seen_welcome_page": True, "enable_spellchecking": False},  # no dictionary download
    "spellcheck": {"dictionaries": [], "use_spelling_service": False},
}
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
    proxy = {"server": f"{parts.scheme or 'http'}://{parts.hostname}:{parts.port}",
             "bypass": ",".join(BROWSER_INFRASTRUCTURE)}
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
    unresolvable = ", ".join(f"MAP {host} ~NOTFOUND" for host in BROWSER_INFRASTRUCTURE)
    return [*HEADLESS_ARGS, f"--host-resolver-rules={unresolvable}",
            f"--ignore-certificate-errors-spki-list={spki_hash(ca_file)}"]


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
    if chromium == CHROMIUM and Path(DEBIAN_BINARY).exists():
        chromium = DEBIAN_BINARY
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sandbox-chromium-") as profile, sync_playwright() as playwright:
        (Path(profile) / "Default").mkdir()
        (Path(profile) / "Default" / "Preferences").write_text(json.dumps(PREFERENCES))
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
