"""One hierarchy for every error the sandbox raises on purpose.

    SandboxError                 base: message names the culprit and the fix
    ├── ConfigError              bad option, port, home folder
    ├── TaskError                task file missing, malformed or inconsistent
    ├── EpisodeError             unknown / finished episode, bad credentials
    ├── LedgerError              ledger file missing or of another schema
    ├── RecordingError           a recording (or a file to import) that cannot be read
    └── ServiceError             unknown service id, service failed to start

The CLI turns any of these into a one-line message and exit status 2; anything else is a bug.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(SandboxError):
    pass


class TaskError(SandboxError):
    pass


class EpisodeError(SandboxError):
    pass


class LedgerError(SandboxError):
    pass


class ServiceError(SandboxError):
    pass


class RecordingError(SandboxError):
    """A recording (or a file to import) that cannot be read: the message names the file and place.
    Here, not in sandbox.recordings.format, so that format and redact need not import each other."""


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A hint listing the closest known names, for unknown-id errors."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "known: " + ", ".join(sorted(choices)) if choices else "none are registered"
