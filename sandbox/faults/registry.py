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


def profile_ref(ref: str | Path) -> str:
    """What an episode stores: a library name as is, a file as its absolute path (the proxy runs
    in another directory). Validates the profile, so a bad one fails before any agent starts."""
    path = profile_path(ref)
    read_profile_file(path)
    return path.stem if path.parent == LIBRARY and path == LIBRARY / f"{ref}.yaml" else str(path)


def load_profile(ref: str | Path) -> Profile:
    """Load and validate a profile by library name or path."""
    return read_profile_file(profile_path(ref))
