"""The snapshot file: one SQLite file, written aside and linked to its name, checked when read."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.episodes.snapshot_file import FORMAT_VERSION, Images, SnapshotWriter, read_manifest
from sandbox.errors import EpisodeError


def image() -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    data = conn.serialize()
    conn.close()
    return data


def written(root, name: str = "s1", manifest: dict | None = None):
    writer = SnapshotWriter(root)
    try:
        writer.add("a.db", image())
        writer.finish(manifest or {"position": 3})
        assert writer.publish(root / f"{name}.snapshot")
    finally:
        writer.discard()
    return root / f"{name}.snapshot"


def test_a_snapshot_file_appears_whole_under_its_name_and_never_replaces_another(tmp_path):
    path = written(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["s1.snapshot"]  # the file aside is gone
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_manifest(path, "ep/s1") == {"position": 3}
    images = Images(path, "ep/s1", ["a.db"])
    assert images["a.db"] == image() and "b.db" not in images and list(images) == ["a.db"]
    images.close()
    writer = SnapshotWriter(tmp_path)
    writer.finish({"position": 4})
    assert not writer.publish(path)  # the name is taken: the other snapshot stays as it was
    writer.discard()
    assert read_manifest(path, "ep/s1") == {"position": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["s1.snapshot"]


def test_another_sqlite_file_a_newer_format_or_a_missing_image_is_refused_by_name(tmp_path):
    other = tmp_path / "other.snapshot"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE manifest (json)")
    conn.close()
    with pytest.raises(EpisodeError, match="not a sandbox snapshot file") as refused:
        read_manifest(other, "ep/other")
    assert "sandbox episodes snapshot ep --name other" in refused.value.hint
    newer = written(tmp_path, "newer")
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version={FORMAT_VERSION + 1}")
    conn.close()
    with pytest.raises(EpisodeError, match=f"has format {FORMAT_VERSION + 1}") as refused:
        read_manifest(newer, "ep/newer")
    assert "sandbox version that took it" in refused.value.hint
    with pytest.raises(EpisodeError, match="no image of b.db"):
        Images(written(tmp_path, "short"), "ep/short", ["a.db", "b.db"])
