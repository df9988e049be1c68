"""Reading the YAML files users write (tasks, fault profiles): every way a file can be unreadable
becomes one error that names the file, the place and the fix, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.errors import SandboxError


def read_yaml_file(path: Path, error: type[SandboxError], what: str, missing_hint: str) -> Any:
    """The parsed YAML document of `path`; `error` (e.g. TaskError) for anything wrong with it.

    `what` names the kind of file in messages ("task file", "fault profile")."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"no {what} at {path}", hint=missing_hint) from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}", hint=missing_hint) from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: byte {exc.start}: not UTF-8 text ({exc.reason})",
                    hint=f"save the {what} as UTF-8") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not text.strip():
        raise error(f"{path}: the {what} is empty", hint="see the examples shipped with the project") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: {where}: malformed YAML: {problem}", hint="fix the YAML syntax there") from None
