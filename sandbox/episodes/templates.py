"""Template databases: the world of a seed, built once, copied for every new episode.

Building costs Faker time (~0.2 s a seed); copying a template costs well under a millisecond. A
template folder appears only when complete (built aside, then renamed), so a crash mid-build
leaves nothing that looks usable.

The ledger template carries the ledger schema, and templates stay in a home across sandbox
versions: one built for an older schema is rebuilt aside and renamed over the old one when the
seed is next used (`ledger-schema-N` marks the version, so the check is one stat per episode).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

from sandbox.episodes.ledger import SCHEMA, SCHEMA_VERSION, connect, secure, write_meta
from sandbox.home import Home
from sandbox.world import world
from services import all_services
from services.common.db import install_change_capture

LEDGER_TEMPLATE = "ledger.db"
LEDGER_MARK = f"ledger-schema-{SCHEMA_VERSION}"  # present when the template's ledger has this schema


@functools.cache
def services_mark() -> str:
    """Present when the template's service databases were built from today's `schema.sql` files: a
    fake that gains a table (payments' webhook endpoints) must not meet a cached template without it."""
    import services

    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(Path(services.__file__).parent.glob("*/schema.sql")):
        digest.update(path.parent.name.encode() + b"\0" + path.read_bytes())
    return f"services-schema-{digest.hexdigest()}"


def build_service_db(path: Path, service_id: str, seed: int) -> None:
    """Create one service's database for `seed` at `path` (tables, world rows, change capture)."""
    from services import get_service

    spec = get_service(service_id)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN")
        spec.build_template(conn, world(seed))
        conn.execute("COMMIT")
        install_change_capture(conn)
    finally:
        conn.close()


def ensure_templates(home: Home, seed: int) -> Path:
    """The template folder of `seed`, building it if it is not there yet."""
    target = home.template_dir(seed)
    if (target / "COMPLETE").exists():
        if not (target / LEDGER_MARK).exists():
            _rebuild_ledger(target)
        if not (target / services_mark()).exists():
            _rebuild_services(target, seed)
        _add_missing_services(target, seed)
        return target
    staging = home.templates_dir / f".building-{seed}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for spec in all_services():
            build_service_db(staging / f"{spec.id}.db", spec.id, seed)
        build_ledger(staging / LEDGER_TEMPLATE)
        (staging / LEDGER_MARK).touch()
        (staging / services_mark()).touch()
        (staging / "COMPLETE").write_text(f"seed {seed}\n")
        try:
            staging.rename(target)
        except OSError:
            # Another process finished the same seed first; theirs is as good as ours.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def build_ledger(path: Path) -> None:
    """An empty ledger with the current schema at `path` (closed: its WAL is merged into the file, so
    a plain file copy of it is complete)."""
    ledger = connect(path)
    try:
        ledger.executescript(SCHEMA)
        write_meta(ledger, {"schema_version": SCHEMA_VERSION})
    finally:
        ledger.close()
    secure(path)


def _rebuild_ledger(target: Path) -> None:
    """Replace a template's older-schema ledger: built aside and renamed over it, so an episode being
    created meanwhile copies the old file or the new one, never half of either. (An old copy is still
    fine: `Ledger` upgrades a schema-1 ledger when it opens it.)"""
    staging = target / f".building-ledger-{os.getpid()}.db"
    staging.unlink(missing_ok=True)
    try:
        build_ledger(staging)
        os.replace(staging, target / LEDGER_TEMPLATE)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{staging}{suffix}").unlink(missing_ok=True)
    (target / LEDGER_MARK).touch()


def _rebuild_services(target: Path, seed: int) -> None:
    """Replace service databases built from older schemas, each built aside and renamed over the old
    one (a reader sees the old file or the new one, never half of either)."""
    for spec in all_services():
        staging = target / f".building-{spec.id}-{os.getpid()}.db"
        staging.unlink(missing_ok=True)
        try:
            build_service_db(staging, spec.id, seed)
            for suffix in ("-wal", "-shm"):
                Path(f"{staging}{suffix}").unlink(missing_ok=True)
            os.replace(staging, target / f"{spec.id}.db")
        finally:
            staging.unlink(missing_ok=True)
    for old in target.glob("services-schema-*"):
        old.unlink(missing_ok=True)
    (target / services_mark()).touch()


def _add_missing_services(target: Path, seed: int) -> None:
    """A template built while fewer services were active lacks the newer ones' databases: build
    each aside and rename it in, so a reader sees a complete file or none."""
    for spec in all_services():
        final = target / f"{spec.id}.db"
        if final.exists():
            continue
        staging = target / f".building-{spec.id}-{os.getpid()}.db"
        staging.unlink(missing_ok=True)
        try:
            build_service_db(staging, spec.id, seed)
            for suffix in ("-wal", "-shm"):
                Path(f"{staging}{suffix}").unlink(missing_ok=True)
            staging.rename(final)
        finally:
            staging.unlink(missing_ok=True)
