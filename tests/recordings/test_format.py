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


def _edit(written, line: int, change) -> None:
    lines = written.read_text().splitlines(keepends=True)
    obj = json.loads(lines[line - 1])
    change(obj)
    lines[line - 1] = json.dumps(obj) + "\n"
    written.write_text("".join(lines))


EFFECT = {"service": "payments", "seq": 3, "table": "refunds", "key": "re_1", "op": "insert", "before": None,
          "after": {"id": "re_1"}}


@pytest.mark.parametrize("effect, message", [
    ({"service": "x"}, r"effects\[0\]\.table is missing"),
    ({**EFFECT, "seq": "3"}, r"effects\[0\]\.seq should be int"),
    ({**EFFECT, "seq": 0}, r"effects\[0\]\.seq should be a number >= 1"),
    ({**EFFECT, "op": "upsert"}, r"effects\[0\]\.op should be one of insert, update, delete"),
    ({**EFFECT, "after": "re_1"}, r"effects\[0\]\.after should be an object \(the row\) or null"),
    ({**EFFECT, "service": ""}, r"effects\[0\]\.service is empty"),
])
def test_every_effect_field_is_checked_at_load_time(written, effect, message):
    _edit(written, 2, lambda obj: obj.update(effects=[effect]))
    with pytest.raises(RecordingError, match=rf"{written}:2: {message}") as err:
        read_recording(written)
    assert "re-record" in err.value.hint


def test_the_same_state_change_twice_is_named(written):
    _edit(written, 2, lambda obj: obj.update(effects=[EFFECT]))
    _edit(written, 4, lambda obj: obj.update(effects=[EFFECT]))
    with pytest.raises(RecordingError, match=rf"{written}:4: effects\[0\]: payments change seq 3 is already at line 2"):
        read_recording(written)


@pytest.mark.parametrize("field, value, message", [
    ("clock", "y", "clock should be int"),
    ("exchange", -1, "exchange should be a number >= 0"),
    ("seq", 1.5, "seq should be int"),
    ("timing", {"duration_ms": "slow"}, "timing.duration_ms should be a number >= 0"),
    ("timing", [1], "timing should be dict"),
    ("upstream", 7, "upstream should be str"),
])
def test_exchange_fields_are_checked_like_status(written, field, value, message):
    _edit(written, 3, lambda obj: obj.update({field: value}))
    with pytest.raises(RecordingError, match=rf"{written}:3: {message}"):
        read_recording(written)


def test_a_bad_header_is_named(written):
    _edit(written, 1, lambda obj: obj.update(redact={"fields": [], "patterns": ["ok", "(unclosed"]}))
    with pytest.raises(RecordingError, match=rf"{written}:1: redact.patterns: redact pattern '\(unclosed' is not"):
        read_recording(written)
    _edit(written, 1, lambda obj: obj.update(redact={}, clock_start="soon"))
    with pytest.raises(RecordingError, match=rf"{written}:1: clock_start should be int"):
        read_recording(written)
