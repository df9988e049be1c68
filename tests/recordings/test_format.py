"""The recording format: a round trip, and bad files that fail naming the file and the place."""

from __future__ import annotations

import json

import pytest

from sandbox.recordings.format import (
    Exchange,
    RecordedRequest,
    RecordedResponse,
    RecordingError,
    StreamEvent,
    dump_lines,
    new_header,
    read_recording,
)
from sandbox.recordings.store import resolve, write_atomic


def sample() -> list[Exchange]:
    return [
        Exchange(RecordedRequest("POST", "api.example.com", "/v1/x", query="a=1", body=b'{"k": 1}'),
                 RecordedResponse(200, "OK", headers=[("Content-Type", "application/json")], body=b'{"ok": true}')),
        Exchange(RecordedRequest("GET", "cdn.example.com", "/logo.png"),
                 RecordedResponse(200, body=b"\x89PNG\r\n\x1a\n\x00")),
        Exchange(RecordedRequest("POST", "llm.example.com", "/v1/stream"),
                 RecordedResponse(200, events=[StreamEvent(b"data: 1\n\n", 12.5), StreamEvent(b"data: 2\n\n", 3)])),
    ]


@pytest.fixture
def written(tmp_path):
    path = tmp_path / "r.jsonl"
    write_atomic(path, dump_lines(new_header(name="r", seed=7), sample()))
    return path


def test_a_recording_reads_back_as_written(written):
    rec = read_recording(written)
    assert rec.header["count"] == 3 and [e.seq for e in rec.exchanges] == [1, 2, 3]
    assert rec.exchanges[0].request.body == b'{"k": 1}' and rec.exchanges[0].request.url == "https://api.example.com/v1/x?a=1"
    assert rec.exchanges[1].response.body == b"\x89PNG\r\n\x1a\n\x00"
    assert "body_b64" in written.read_text().splitlines()[2]  # binary bodies only are base64
    assert [(e.data, e.delay_ms) for e in rec.exchanges[2].response.events] == [(b"data: 1\n\n", 12.5),
                                                                               (b"data: 2\n\n", 3.0)]
    assert rec.exchanges[2].response.body == b"data: 1\n\ndata: 2\n\n"


def test_a_truncated_recording_names_the_file_and_line(written):
    text = written.read_text()
    written.write_text(text[: len(text) - 30])
    with pytest.raises(RecordingError, match=rf"{written}:4: not valid JSON"):
        read_recording(written)
    lines = text.splitlines(keepends=True)
    written.write_text("".join(lines[:3]))  # cut at a line boundary: the header's count tells
    with pytest.raises(RecordingError, match="the header \\(line 1\\) says 3 exchanges, the file has 2") as err:
        read_recording(written)
    assert '"count": 2' in err.value.hint


def test_a_hand_edited_line_names_the_field(written):
    lines = written.read_text().splitlines(keepends=True)
    broken = json.loads(lines[1])
    del broken["request"]["method"]
    written.write_text(lines[0] + json.dumps(broken) + "\n" + "".join(lines[2:]))
    with pytest.raises(RecordingError, match=rf"{written}:2: request.method is missing"):
        read_recording(written)
    broken = json.loads(lines[2])
    broken["response"]["status"] = "200"
    written.write_text(lines[0] + lines[1] + json.dumps(broken) + "\n" + lines[3])
    with pytest.raises(RecordingError, match=rf"{written}:3: response.status should be int"):
        read_recording(written)


def test_an_unknown_format_version_says_what_to_do(written):
    lines = written.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["version"] = 2
    written.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    with pytest.raises(RecordingError, match=rf"{written}:1: recording format version 2") as err:
        read_recording(written)
    assert "upgrade" in err.value.hint


def test_a_failed_write_leaves_the_old_recording_whole(written):
    before = written.read_text()

    def lines():
        yield "partial line\n"
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomic(written, lines())
    assert written.read_text() == before
    assert sorted(p.name for p in written.parent.iterdir()) == ["r.jsonl"]


def test_names_resolve_under_the_recordings_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_RECORDINGS", str(tmp_path))
    assert resolve("refund-run") == tmp_path / "refund-run.jsonl"
    assert resolve("some/where.jsonl").name == "where.jsonl"
    with pytest.raises(RecordingError, match="not usable"):
        resolve("bad name!")
