"""The snapshot file: an episode's databases at one moment, and what was recorded with them, in ONE file.

    <home>/episodes/<episode>/snapshots/<name>.snapshot      (0600, folder 0700)

It is a SQLite database of two tables:

    manifest (json)                   one row: parent, seed, task, faults, position, clock, fault state...
    images (name, crc32, image)       each database of the episode (ledger.db, payments.db, ...) as its
                                      image (`Connection.serialize`), whole, with its CRC-32

One file because files are what a snapshot costs: creating one costs from ~0.01 to ~0.9 ms of kernel
time on this project's machine, depending on where its folder lands on the disk (bench/bench_fork.py),
and a folder of a copy per database and a manifest took seven. The file is
written aside (`.<random>.tmp`) and linked to its name when complete, so a reader never sees half of
one and two snapshots never take the same name. It is written without a journal and without fsync:
a snapshot is a cache of a moment, the parent's ledger is the record, and a file a machine crash
damaged is refused below, with what to do.

The header says what the file is (`application_id`) and its format (`user_version`): another SQLite
file or a newer format is refused by name. Each image's CRC-32 is checked when a fork reads it, so a
damaged snapshot is refused, never forked into a broken episode. Format 1 snapshots (a folder: a
file per database and manifest.json) are still read: `sandbox/episodes/snapshot.py` forks them.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sandbox.episodes.images import is_image
from sandbox.errors import EpisodeError

SUFFIX = ".snapshot"
FORMAT_VERSION = 2  # 1: a folder of database files and manifest.json
APPLICATION_ID = int.from_bytes(b"snap", "big")  # in the SQLite header: "this file is a sandbox snapshot"
SCHEMA = """
CREATE TABLE manifest (json TEXT NOT NULL);
CREATE TABLE images (name TEXT PRIMARY KEY, crc32 INTEGER NOT NULL, image BLOB NOT NULL);
"""


def snapshot_path(root: Path, name: str) -> Path:
    return root / f"{name}{SUFFIX}"


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that reads `path` and can write nothing beside it (no -journal, -wal or -shm):
    `immutable`, as a published snapshot never changes."""
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True, isolation_level=None)


class SnapshotWriter:
    """A snapshot file being written, aside in `root` until `publish` links it to its name."""

    def __init__(self, root: Path) -> None:
        fd, name = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=root)  # 0600, a new name
        os.close(fd)
        self.path = Path(name)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            # No journal, no fsync, no lock traffic: nobody else knows this file until it is published,
            # and a half-written one is only a .tmp to remove. 16 KiB pages: an image is a few long
            # blobs (measured: with 4 KiB pages writing them costs 0.2 ms more).
            for pragma in ("page_size=16384", "journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                           f"application_id={APPLICATION_ID}", f"user_version={FORMAT_VERSION}"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.execute("BEGIN")
            for statement in SCHEMA.strip().split(";\n"):
                self.conn.execute(statement)
        except BaseException:
            self.discard()
            raise

    def add(self, name: str, image: bytes) -> None:
        self.conn.execute("INSERT INTO images (name, crc32, image) VALUES (?, ?, ?)", (name, zlib.crc32(image), image))

    def finish(self, manifest: Mapping[str, Any]) -> None:
        self.conn.execute("INSERT INTO manifest (json) VALUES (?)", (json.dumps(manifest, sort_keys=True),))
        self.conn.execute("COMMIT")
        self.conn.close()

    def publish(self, target: Path) -> bool:
        """Give the finished file the name `target`; False if a snapshot has that name already."""
        try:
            os.link(self.path, target)  # exclusive: never replaces another snapshot
        except FileExistsError:
            return False
        except OSError as exc:  # a file system without hard links: reserve the name, then rename onto it
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            try:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                return False
            os.replace(self.path, target)
        return True

    def discard(self) -> None:
        """Remove the file aside (after `publish`, its other name; after a failure, the half-made file)."""
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        self.path.unlink(missing_ok=True)


def _damaged(path: Path, why: object, ref: str) -> EpisodeError:
    episode, _, name = ref.partition("/")
    return EpisodeError(f"snapshot file {path} is damaged or not a snapshot ({why})",
                        hint=f"the state it held cannot be forked: remove the file, and take a new snapshot "
                             f"(sandbox episodes snapshot {episode} --name {name})")


def _checked(conn: sqlite3.Connection, path: Path, ref: str) -> None:
    """Refuse another SQLite file, or a snapshot of a newer format, by name."""
    application_id, version = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version"))
    if application_id != APPLICATION_ID:
        raise _damaged(path, "it is not a sandbox snapshot file", ref)
    if version != FORMAT_VERSION:
        raise EpisodeError(f"snapshot {ref!r} ({path}) has format {version}, this sandbox reads {FORMAT_VERSION} and 1",
                           hint="fork it with the sandbox version that took it, or take the snapshot again")


def read_manifest(path: Path, ref: str) -> dict[str, Any]:
    """The manifest of the snapshot file `path` (only its first pages are read)."""
    try:
        conn = read_only(path)
    except sqlite3.Error as exc:
        raise _damaged(path, exc, ref) from None
    try:
        _checked(conn, path, ref)
        row = conn.execute("SELECT json FROM manifest").fetchone()
        manifest = json.loads(row[0])
        if not isinstance(manifest, dict):
            raise ValueError("its manifest is not an object")
        return manifest
    except (sqlite3.Error, TypeError, ValueError) as exc:  # not a database, truncated, no manifest row
        raise _damaged(path, exc, ref) from None
    finally:
        conn.close()


class Images(Mapping[str, bytes]):
    """The images of a snapshot file by name (ledger.db, payments.db, ...), each read when asked for
    and checked against its CRC-32: one database in memory at a time, however big the episode.
    `expected`: the names the manifest says are there; one missing is damage, not a fallback."""

    def __init__(self, path: Path, ref: str, expected: list[str]) -> None:
        self.path, self.ref, self.expected = path, ref, expected
        try:
            self.conn = read_only(path)
            _checked(self.conn, path, ref)
            self.names = [row[0] for row in self.conn.execute("SELECT name FROM images")]
        except sqlite3.Error as exc:
            raise _damaged(path, exc, ref) from None
        missing = [name for name in expected if name not in self.names]
        if missing:
            raise _damaged(path, f"no image of {', '.join(missing)}", ref)

    def __getitem__(self, name: str) -> bytes:
        try:
            row = self.conn.execute("SELECT crc32, image FROM images WHERE name=?", (name,)).fetchone()
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc, self.ref) from None
        if row is None:
            raise KeyError(name)
        crc, image = row
        if not isinstance(image, bytes) or zlib.crc32(image) != crc or not is_image(image):
            raise _damaged(self.path, f"the image of {name} fails its check", self.ref)
        return image

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def close(self) -> None:
        self.conn.close()
