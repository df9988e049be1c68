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

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "har").glob("*.har"))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_RECORDINGS", str(tmp_path / "recordings"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--home", str(tmp_path / "home"), *args])


def test_the_real_world_samples_are_all_there():
    assert len(SAMPLES) == 7, "tests/fixtures/har/ holds the seven browser and tool captures"


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


def _one_entry_har(tmp_path) -> Path:
    har = tmp_path / "one.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": "https://a.example/"},
                                                    "response": {"status": 200, "content": {"text": "hello"}}}]}}))
    return har


def test_a_bad_redact_pattern_is_an_error_naming_it_not_a_traceback(cli, tmp_path):
    result = cli("recordings", "import", str(_one_entry_har(tmp_path)), "site", "--redact-pattern", "(")
    assert result.exit_code == 2, result.output
    assert "--redact-pattern: redact pattern '(' is not a regular expression" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "recordings").exists()


def test_a_bad_pattern_in_a_recording_header_is_named_by_list_scan_and_show(cli, tmp_path):
    assert cli("recordings", "import", str(_one_entry_har(tmp_path)), "site").exit_code == 0
    path = tmp_path / "recordings" / "site.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["redact"]["patterns"] = ["("]
    path.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    assert f"site\tUNREADABLE: {path}:1: redact.patterns: redact pattern '('" in cli("recordings", "list").output
    for command in ("scan", "show"):
        result = cli("recordings", command, "site")
        assert result.exit_code == 2 and f"{path}:1: redact.patterns: redact pattern '('" in result.output, command


def test_import_takes_a_plain_name_only(cli, tmp_path):
    har = _one_entry_har(tmp_path)
    for name in ("bad/name", "site.jsonl", "../up"):
        result = cli("recordings", "import", str(har), name)
        assert result.exit_code == 2 and "is not a plain name" in result.output, (name, result.output)
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob("*.jsonl"))
    assert cli("recordings", "import", str(har), "site.v2").exit_code == 0
    assert cli("recordings", "list").output.startswith("site.v2\t1 exchanges")


def test_export_of_a_hand_edited_clock_names_the_line(cli, tmp_path):
    assert cli("recordings", "import", str(_one_entry_har(tmp_path)), "site").exit_code == 0
    path = tmp_path / "recordings" / "site.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    exchange = json.loads(lines[1])
    exchange["clock"] = "y"
    path.write_text(lines[0] + json.dumps(exchange) + "\n")
    result = cli("recordings", "export", "site", str(tmp_path / "out.har"))
    assert result.exit_code == 2 and f"{path}:2: clock should be int" in result.output
    assert not (tmp_path / "out.har").exists()


def test_scan_flags_a_hand_planted_sandbox_key_of_every_fake(cli, tmp_path):
    import services

    assert cli("recordings", "import", str(_one_entry_har(tmp_path)), "clean").exit_code == 0
    path = tmp_path / "recordings" / "clean.jsonl"
    clean = path.read_text()
    for service in services._MODULES:
        key = services.get_service(service).key_prefix + "Ab-cD_eF-gH_iJ-kL_mN-oP"
        path.write_text(clean.replace("hello", f"my key is {key}"))
        result = cli("recordings", "scan", "clean")
        assert result.exit_code == 1, (service, result.output)
        assert f"{path}:2: response.body:" in result.output and "kL_mN" not in result.output
