"""Database images: a SQLite database as bytes in memory, and new episode files written from them.

A snapshot keeps each database as its image (`Connection.serialize`, read inside the snapshot's one
read transaction), and a fork writes them back as its files. Writing an image is one new file and
one write: no -wal/-shm pair is created and no checkpoint is fsynced on the way, which is most of
what a new file costs on a slow disk (creating a file costs up to ~0.9 ms on this project's machine,
an fsync about as much; the bytes themselves are a few hundred KB from memory).

Every episode database is in WAL mode, which its header says (bytes 18 and 19 are 2). SQLite's
in-memory VFS cannot open such an image ("unable to open database file"), so an image is given the
rollback header for the time it is open in memory and the WAL header again when it becomes a file:
the file is then what a closed WAL database is, the same as a copied template.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

MAGIC = b"SQLite format 3\x00"
_WAL, _ROLLBACK = 2, 1  # file format write/read versions (header bytes 18, 19)


def is_image(data: bytes) -> bool:
    """Whether `data` looks like a whole SQLite database: its magic, and whole pages of its page size."""
    if len(data) < 100 or not data.startswith(MAGIC):
        return False
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    return page_size >= 512 and len(data) % page_size == 0


def _with_header(image: bytes, version: int) -> bytes:
    if image[18] == image[19] == version:
        return image
    patched = bytearray(image)
    patched[18] = patched[19] = version
    return bytes(patched)


def open_image(image: bytes) -> sqlite3.Connection:
    """An in-memory database holding a copy of `image` (autocommit, as the ledger's connections are)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.deserialize(_with_header(image, _ROLLBACK))
    except BaseException:
        conn.close()
        raise
    return conn


def image_of(conn: sqlite3.Connection, schema: str = "main") -> bytes:
    """The image of `schema` of `conn` (inside its open transaction, if any), with the WAL header."""
    return _with_header(conn.serialize(name=schema), _WAL)


def write_new(path: Path, data: bytes) -> None:
    """Write `data` as a new file `path`, 0600 from birth; fails if `path` exists. Not fsynced: like
    the copied template files beside it, the file is whole once the write returns, for any process;
    only a crash of the machine could lose it, with the registry's own unsynced commit of the episode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_database(path: Path, source: Path | bytes) -> None:
    """Make `path` (0600) a copy of `source`: a database file (a template), or an image (a fork's)."""
    if isinstance(source, bytes):
        write_new(path, source)
    else:
        shutil.copyfile(source, path)
        os.chmod(path, 0o600)


def write_ledger(path: Path, source: Path | bytes, prepare: Callable[[sqlite3.Connection], None]) -> None:
    """Write the ledger `path` as `source` (a ledger file or image) after `prepare(conn)` has written to
    it in memory (the new episode's meta, a fork's own history): the file appears with its first
    rows in it, written once."""
    conn = open_image(source if isinstance(source, bytes) else Path(source).read_bytes())
    try:
        prepare(conn)
        image = image_of(conn)
    finally:
        conn.close()
    write_new(path, image)
