"""Seeded nuisance and faults: declarative profiles that vary an episode's world systematically.

    from sandbox.faults import load_profile, library_names
    profile = load_profile("ghost-refund")        # a name from library/, or a path to a YAML file

The format is in `sandbox.faults.model`; which calls a profile hits is decided in
`sandbox.faults.engine`; what the actions do to a response is in `sandbox.faults.drift` (JSON),
`sandbox.faults.html` (pages) and the proxy addon `sandbox.proxy.faults`; what a score says about
them in `sandbox.faults.notes`. The shipped profiles, one per kind, and the format in full:
`sandbox/faults/library/README.md`.
"""

from sandbox.faults.model import ACTIONS, Action, FaultProfileError, Match, Profile, Rule
from sandbox.faults.registry import LIBRARY, library_names, load_profile, profile_ref

__all__ = [
    "ACTIONS", "LIBRARY", "Action", "FaultProfileError", "Match", "Profile", "Rule", "library_names",
    "load_profile", "profile_ref",
]
