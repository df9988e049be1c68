"""Where the sandbox keeps its files. One folder, so a user can see, copy or delete all of it.

    <home>/
      control.db                 episode registry (ids, proxy tokens, API keys), WAL
      ca/                        mitmproxy's CA (mitmproxy-ca-cert.pem is what agents trust)
      templates/<seed>/<svc>.db  the world of a seed, built once
      episodes/<id>/ledger.db    the episode's ledger
      episodes/<id>/<svc>.db     the episode's copy of each service's world
      run/ports.json             what `sandbox up` is listening on
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
        for folder in (home.root, home.templates_dir, home.episodes_dir, home.ca_dir, home.run_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def control_db(self) -> Path:
        return self.root / "control.db"

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


def proxy_secret(home: Home) -> str:
    """A per-home secret the proxy sends to the fakes, so an agent calling a fake directly
    cannot claim another episode by forging the proxy's headers. Created once, mode 0600."""
    path = home.run_dir / "proxy.secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        import secrets

        value = secrets.token_urlsafe(24)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        try:
            os.link(tmp, path)  # first writer wins; others read theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()
