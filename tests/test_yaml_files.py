"""Unreadable task and profile files: one clear error naming the file, never a traceback."""

from __future__ import annotations

import pytest

from sandbox.errors import SandboxError
from sandbox.faults.validate import read_profile_file
from sandbox.tasks import load_task

READERS = {"task": load_task, "profile": read_profile_file}


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id: x\n\xff\xfe oops\n", "byte 6: not UTF-8 text"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"id: [unclosed\n", "line 2, column 1: malformed YAML"),
    ],
)
def test_unreadable_files_name_the_file_and_the_place(tmp_path, kind, content, expected):
    path = tmp_path / "broken.yaml"
    path.write_bytes(content)
    with pytest.raises(SandboxError) as caught:
        READERS[kind](path)
    assert str(path) in caught.value.message and expected in caught.value.message


@pytest.mark.parametrize("kind", READERS)
def test_a_folder_is_not_a_file(tmp_path, kind):
    with pytest.raises(SandboxError) as caught:
        READERS[kind](tmp_path)
    assert "is a folder" in caught.value.message and caught.value.hint


def test_a_time_limit_must_be_finite(tmp_path):
    from sandbox.tasks.registry import task_path

    text = task_path("refund-duplicate-charge").read_text().replace("seconds: 120", "seconds: .nan")
    path = tmp_path / "nan.yaml"
    path.write_text(text)
    with pytest.raises(SandboxError, match="limits.seconds"):
        load_task(path)
