"""Where the sandbox keeps its files. One folder, so a user can see, copy or delete all of it.

    <home>/                      mode 0700: it holds credentials (below), so it is the operator's alone
      control.db                 episode registry (ids, proxy tokens, API keys), WAL
      control.token              the control API's bearer token (0600): whoever reads it drives the
                                 sandbox, so it is never given to an agent (`Authorization: Bearer <it>`)
      ca/                        mitmproxy's CA (mitmproxy-ca-cert.pem is what agents trust)
      templates/<seed>/<svc>.db  the world of a seed, built once
      episodes/<id>/ledger.db    the episode's ledger
      episodes/<id>/<svc>.db     the episode's copy of each service's world
      run/ports.json             what `sandbox up` is listening on
      run/proxy.secret           what the proxy shows the fakes (0600), see `proxy_secret`
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "SANDBOX_HOME"
DEFAULT_HOME = Path(".sandbox")


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None = None) -> Home:
        """The home named by `path`, else $SANDBOX_HOME, else ./.sandbox."""
        chosen = Path(path) if path else Path(os.environ.get(ENV_VAR) or DEFAULT_HOME)
        home = cls(chosen.resolve())
        home.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _keep_private(home.root)
        for folder in (home.templates_dir, home.episodes_dir, home.ca_dir, home.run_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def control_db(self) -> Path:
        return self.root / "control.db"

    @property
    def control_token_file(self) -> Path:
        return self.root / "control.token"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "mitmproxy-ca-cert.pem"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def ports_file(self) -> Path:
        return self.run_dir / "ports.json"

    def template_dir(self, seed: int) -> Path:
        return self.templates_dir / str(seed)

    def episode_dir(self, episode_id: str) -> Path:
        return self.episodes_dir / episode_id

    def ledger_path(self, episode_id: str) -> Path:
        return self.episode_dir(episode_id) / "ledger.db"

    def service_db(self, episode_id: str, service: str) -> Path:
        return self.episode_dir(episode_id) / f"{service}.db"


def _keep_private(root: Path) -> None:
    """Make the home 0700. The registry, the CA's private key, the ledgers and the control token
    are inside, and sqlite creates its files with the umask's mode (often 0644): the folder's mode
    is what keeps other users out of them. A home that exists already is tightened too when it is
    ours (a home made before this rule, or by a loose umask); one owned by someone else is left
    alone (we could not chmod it, and it is theirs to fix)."""
    info = root.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        root.chmod(0o700)


def _secret_file(path: Path) -> str:
    """The secret in `path`, created once (random, mode 0600) if it is missing. Atomic: the file is
    written whole under a temporary name, then linked into place; when processes race, the first
    link wins and every one of them reads that value."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        import secrets

        value = secrets.token_urlsafe(24)
        # Unique per process and call: two threads of one process must not share a temporary file.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        try:
            os.link(tmp, path)  # never replaces: the first writer wins, the others read its value
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        value = path.read_text().strip()
    if not value:  # an empty secret would let an empty credential through
        from sandbox.errors import ConfigError

        raise ConfigError(f"{path} is empty", hint="delete it: a new secret is made on the next start")
    return value


def proxy_secret(home: Home) -> str:
    """A per-home secret the proxy sends to the fakes, so an agent calling a fake directly
    cannot claim another episode by forging the proxy's headers. Created once, mode 0600."""
    return _secret_file(home.run_dir / "proxy.secret")


def control_token(home: Home) -> str:
    """The bearer token of the home's control API (`<home>/control.token`, mode 0600), created once.
    The operator's tools read it from the home; an agent is never given it."""
    return _secret_file(home.control_token_file)
