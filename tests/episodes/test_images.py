"""Database images: read in one transaction, written back as whole WAL files, ledgers written in memory."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.episodes.images import image_of, is_image, open_image, write_database, write_ledger, write_new


def wal_database(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    return conn


def test_an_image_is_the_moment_of_its_read_transaction_and_becomes_a_whole_wal_file(tmp_path):
    writer = wal_database(tmp_path / "a.db")  # held open: its rows are in the -wal, not yet in the file
    reader = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM t").fetchone()
    writer.execute("INSERT INTO t VALUES (2)")  # after the reader's moment
    image = image_of(reader)
    reader.execute("COMMIT")
    assert is_image(image) and image[18] == image[19] == 2
    write_new(tmp_path / "b.db", image)
    assert (tmp_path / "b.db").stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(tmp_path / "b.db")
    assert copy.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    copy.close()
    with pytest.raises(FileExistsError):
        write_new(tmp_path / "b.db", image)  # never over another file
    writer.close()
    reader.close()


def test_a_ledger_is_written_once_with_its_first_rows_and_nothing_beside_it(tmp_path):
    wal_database(tmp_path / "template.db").close()

    def first_rows(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (9)")

    (tmp_path / "new").mkdir()
    write_ledger(tmp_path / "new" / "ledger.db", tmp_path / "template.db", first_rows)
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["ledger.db"]  # no -wal, no -shm
    conn = sqlite3.connect(tmp_path / "new" / "ledger.db")
    assert conn.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (9,)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    image = (tmp_path / "new" / "ledger.db").read_bytes()
    write_database(tmp_path / "from-image.db", image)
    write_database(tmp_path / "from-file.db", tmp_path / "template.db")
    assert (tmp_path / "from-image.db").read_bytes() == image
    assert (tmp_path / "from-file.db").stat().st_mode & 0o777 == 0o600
    memory = open_image(image)
    assert memory.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    memory.close()


def test_is_image_knows_a_database_from_other_bytes():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    image = conn.serialize()
    conn.close()
    assert is_image(image)
    assert not is_image(image[:-1]) and not is_image(b"x" * 4096)
    assert not is_image(b"SQLite format 3\x00" + b"\x00" * 10)
