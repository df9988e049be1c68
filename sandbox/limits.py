"""What one sandbox home lets its episodes use: body sizes, ledger body caps, episode count,
lifetime, idleness and creation rate. The agent under test is assumed hostile; each limit is
there so that it cannot exhaust the operator's memory or disk, and each one, when hit, gives the
caller a clear error and leaves a row in a ledger.

The limits of a home live in `<home>/limits.json` (written by `sandbox up` from its flags; absent
means the defaults below). Every part reads them from there: the proxy (body limit), the ledger
writers (body cap), the episode store (count and rate) and the reaper (lifetime and idleness).

    {"max_body_bytes": 8388608, "max_live_episodes": 200}      # any subset; the rest default
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import ConfigError, did_you_mean
from sandbox.home import Home

FILE_NAME = "limits.json"


@dataclass(frozen=True)
class Limits:
    # A request or response body larger than this is refused by the proxy with a vendor-shaped 413
    # (and a ledger row saying so): mitmproxy buffers bodies, so without it one upload costs its size in memory.
    max_body_bytes: int = 8 * 1024 * 1024
    # What the ledger keeps of a body: its first N bytes, with the full length and SHA-256 beside them.
    ledger_body_bytes: int = 64 * 1024
    # Episodes live at once in one home (each is a copy of the world, a few MB on disk).
    max_live_episodes: int = 200
    # Seconds an episode may stay live; past it, the reaper finishes and scores it.
    episode_lifetime_seconds: float = 6 * 3600.0
    # Seconds without traffic after which the reaper finishes and scores a live episode.
    idle_seconds: float = 3600.0
    # New episodes per minute in one home (a token bucket this big, refilled at this rate).
    creations_per_minute: int = 6000

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "limits") -> Limits:
        """Limits from a mapping of some fields; unknown names and bad values name the field and the fix."""
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: expected a JSON object of limits, got {type(values).__name__}",
                              hint='write e.g. {"max_body_bytes": 8388608}; fields: ' + ", ".join(cls.field_names()))
        known = cls.field_names()
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigError(f"{where}: unknown limit {name!r}", hint=did_you_mean(str(name), known))
            default = getattr(cls, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{where}: {name} must be a positive number, got {value!r}",
                                  hint=f"the default is {default}")
            if isinstance(default, int) and not float(value).is_integer():
                raise ConfigError(f"{where}: {name} must be a whole number, got {value!r}",
                                  hint=f"the default is {default}")
            out[name] = type(default)(value)
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def limits_path(home: Home) -> Path:
    return home.root / FILE_NAME


_CACHE: dict[str, tuple[tuple[int, int, int], Limits]] = {}


def load_limits(home: Home) -> Limits:
    """The limits of `home`: its limits.json, else the defaults. Read again only when the file
    changes (a stat, not a read and a parse, per episode created)."""
    path = limits_path(home)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return Limits()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="delete it to use the default limits") from None
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # save_limits replaces the file: a new inode
    cached = _CACHE.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    limits = _read_limits(path)
    _CACHE[str(path)] = (stamp, limits)
    return limits


def _read_limits(path: os.PathLike[str]) -> Limits:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Limits()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="delete it to use the default limits") from None
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})", hint="delete it to use the default limits") from None
    return Limits.from_mapping(values, where=str(path))


def save_limits(home: Home, limits: Limits) -> None:
    """Write `limits` as the home's limits (0600, atomically), for every part that reads them."""
    path = limits_path(home)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(limits.to_dict(), f, indent=2)
    os.replace(tmp, path)
    _CACHE.pop(str(path), None)
