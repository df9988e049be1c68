"""What the Ray tests share: a temp folder short enough for Ray's Unix sockets."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def short_temp_dir() -> Iterator[Path]:
    """A fresh folder right under the system temp folder, removed afterwards. Ray puts its sockets at
    <temp>/ray/session_<date>_<pid>/sockets/plasma_store, and a Unix socket path must fit in 107
    bytes: pytest's own tmp paths (longer still under pytest-xdist's popen-gwN) do not."""
    temp = Path(tempfile.mkdtemp(prefix="ray-"))
    try:
        (temp / "ray").mkdir()
        yield temp
    finally:
        shutil.rmtree(temp, ignore_errors=True)
