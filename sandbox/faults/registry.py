"""Profiles by name (the shipped library, `sandbox/faults/library/*.yaml`) or by file path."""

from __future__ import annotations

from pathlib import Path

from sandbox.errors import did_you_mean
from sandbox.faults.model import FaultProfileError, Profile
from sandbox.faults.validate import read_profile_file

LIBRARY = Path(__file__).parent / "library"


def library_names() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def profile_path(ref: str | Path) -> Path:
    """The file a profile reference names: a library name (`ghost-refund`) or a path."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in str(ref):
        return path.resolve()
    candidate = LIBRARY / f"{ref}.yaml"
    if not candidate.exists():
        raise FaultProfileError(f"unknown fault profile {str(ref)!r}",
                                hint=did_you_mean(str(ref), library_names()) + " (or give a YAML file path)")
    return candidate


_READ: dict[Path, tuple[tuple[int, int, int], Profile]] = {}


def _read(path: Path) -> Profile:
    """`read_profile_file(path)`, parsed again only when the file changes: every new episode with a
    profile validates it, and parsing the YAML was a third of a fork's time."""
    try:
        stat = path.stat()
    except OSError:
        return read_profile_file(path)  # it says what is wrong with the path
    stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _READ.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    profile = read_profile_file(path)
    if len(_READ) >= 256:  # paths come from operators, but stay bounded
        _READ.clear()
    _READ[path] = (stamp, profile)
    return profile


def profile_ref(ref: str | Path) -> str:
    """What an episode stores: a library name as is, a file as its absolute path (the proxy runs
    in another directory). Validates the profile, so a bad one fails before any agent starts."""
    path = profile_path(ref)
    _read(path)
    return path.stem if path.parent == LIBRARY and path == LIBRARY / f"{ref}.yaml" else str(path)


def load_profile(ref: str | Path) -> Profile:
    """Load and validate a profile by library name or path."""
    return _read(profile_path(ref))
