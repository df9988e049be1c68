"""`sandbox recordings import | export | scan | show | list`, and HAR files good and bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.recordings.format import RecordingError
from sandbox.recordings.har import read_har, to_har
from sandbox.recordings.store import load

SAMPLES = sorted(Path("/work/shared/har").glob("*.har"))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_RECORDINGS", str(tmp_path / "recordings"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--home", str(tmp_path / "home"), *args])


@pytest.mark.skipif(not SAMPLES, reason="the shared HAR samples are not on this machine")
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_real_world_har_files_import_and_export_again(sample, cli, tmp_path):
    result = cli("recordings", "import", str(sample), sample.stem)
    assert result.exit_code == 0, result.output
    rec = load(sample.stem)
    entries = json.loads(sample.read_text())["log"]["entries"]
    answered = [e for e in entries if e["response"]["status"]]
    assert [e.request.method for e in rec.exchanges] == [e["request"]["method"] for e in answered]
    assert cli("recordings", "export", sample.stem, str(tmp_path / "out.har")).exit_code == 0
    again, _ = read_har(tmp_path / "out.har")
    assert [(e.request.url, e.response.status, e.response.body) for e in again.exchanges] == [
        (e.request.url, e.response.status, e.response.body) for e in rec.exchanges]


def test_har_with_missing_fields_is_named(tmp_path):
    har = tmp_path / "bad.har"
    har.write_text(json.dumps({"log": {"entries": [
        {"request": {"method": "GET", "url": "https://a.example/"}, "response": {"status": 200}},
        {"request": {"method": "GET"}, "response": {"status": 200}}]}}))
    with pytest.raises(RecordingError, match=rf"{har}: log.entries\[1\].request.url is missing"):
        read_har(har)
    har.write_text('{"log": {"entries": [')
    with pytest.raises(RecordingError, match=rf"{har}:1:\d+: not a HAR file"):
        read_har(har)
    har.write_text('{"log": {}}')
    with pytest.raises(RecordingError, match=rf"{har}: log.entries is missing"):
        read_har(har)


def test_scan_fails_on_a_token_left_in_a_recording(cli, tmp_path):
    har = tmp_path / "one.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/"},
                                                    "response": {"status": 200, "content": {"text": "hello"}}}]}}))
    assert cli("recordings", "import", str(har), "clean").exit_code == 0
    result = cli("recordings", "scan")
    assert result.exit_code == 0 and "0 secret(s) found" in result.output
    path = tmp_path / "recordings" / "clean.jsonl"
    path.write_text(path.read_text().replace("hello", "key xoxb-1234567890-abcdefghij"))
    result = cli("recordings", "scan", "clean")
    assert result.exit_code == 1
    assert f"{path}:2: response.body: slack token" in result.output
    assert "1234567890" not in result.output  # the finding does not print the secret


def test_show_list_and_a_bad_name(cli, tmp_path):
    har = tmp_path / "one.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/x"},
                                                    "response": {"status": 404}}]}}))
    cli("recordings", "import", str(har), "site")
    assert "GET    https://a.example/x  -> 404" in cli("recordings", "show", "site").output
    assert cli("recordings", "list").output.startswith("site\t1 exchanges")
    result = cli("recordings", "show", "sitee")
    assert result.exit_code == 2 and "did you mean 'site'" in result.output


def test_export_of_a_stream_keeps_its_body(tmp_path):
    from sandbox.recordings.format import Exchange, RecordedRequest, RecordedResponse, Recording, StreamEvent

    streamed = RecordedResponse(200, headers=[("Content-Type", "text/event-stream")],
                                events=[StreamEvent(b"data: 1\n\n")], body=b"data: 1\n\n")
    rec = Recording({"name": "s"}, [Exchange(RecordedRequest("GET", "a.example", "/s"), streamed)])
    assert to_har(rec)["log"]["entries"][0]["response"]["content"]["text"] == "data: 1\n\n"
