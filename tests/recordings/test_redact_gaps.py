"""Ways a secret used to slip past redaction: bytes that are not UTF-8, streams cut inside a secret,
query strings, percent-encoded and multipart spellings; and words redaction must leave alone."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home
from sandbox.recordings.format import (
    Exchange,
    RecordedRequest,
    RecordedResponse,
    StreamEvent,
    dump_lines,
    new_header,
    read_recording,
)
from sandbox.recordings.redact import MARK, Redactor
from sandbox.recordings.scan import scan_file
from sandbox.recordings.stream import StreamTap
from tests.proxy.conftest import agent, running_proxy
from tests.recordings.helpers import create, finish

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
PLAIN = "plain-secret-value-4711"  # not token-shaped: only known because the request carried it


def known(redactor: Redactor, headers=(), query: str = "", body: bytes = b"", content_type: str | None = None):
    return redactor.known_secrets(list(headers), query, body, content_type)


# -- bytes that are not UTF-8 -----------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_still_redacted_and_otherwise_kept_byte_for_byte():
    redactor = Redactor()
    assert redactor.body(b"caf\xe9 " + KEY.encode() + b" \xff\xfe end", "text/plain") == (
        b"caf\xe9 sk_test_REDACTED \xff\xfe end")
    assert redactor.body(b'{"name": "Ren\xe9", "password": "hunter2-hunter2"}', "application/json") == (
        b'{"name": "Ren\xe9", "password": "REDACTED"}')
    binary = bytes(range(256)) * 4
    assert redactor.body(binary, "application/octet-stream") == binary


def recording(tmp_path, *responses: RecordedResponse, request_body: bytes = b""):
    path = tmp_path / "r.jsonl"
    exchanges = [Exchange(RecordedRequest("POST", "api.x.com", "/v1/a", body=request_body), r) for r in responses]
    path.write_text("".join(dump_lines(new_header(), exchanges)))
    return path


def test_scan_decodes_bodies_kept_as_base64(tmp_path):
    path = recording(tmp_path, RecordedResponse(200, body=b"\xff" + KEY.encode()), request_body=b"\xfe ok")
    assert '"body_b64"' in path.read_text()
    assert [(leak.where, leak.kind) for leak in scan_file(path)] == [("response.body_b64(decoded)", "stripe key")]


# -- streams ----------------------------------------------------------------------------------------


def test_a_secret_split_across_stream_chunks_is_redacted_and_the_chunks_keep_their_timing():
    from sandbox.recordings.stream import redact_events

    redactor = Redactor()
    secrets = known(redactor, [("X-Api-Key", PLAIN)])
    body = f'{{"n": 1}}\n{{"echo": "{KEY}", "also": "{PLAIN}"}}\n{{"n": 2}}\n'.encode()
    tap = StreamTap(sse=False)
    for i in range(0, len(body), 7):  # every secret is cut at least once
        tap(body[i:i + 7])
    events = tap.events()
    for i, event in enumerate(events):
        event.delay_ms = float(i)
    redacted = redact_events(events, lambda data: redactor.response_body(data, "application/x-ndjson", secrets))
    joined = b"".join(e.data for e in redacted)
    assert joined == b'{"n": 1}\n{"echo": "sk_test_REDACTED", "also": "REDACTED"}\n{"n": 2}\n'
    assert [e.delay_ms for e in redacted] == [float(i) for i in range(len(events))]
    assert redacted[0].data == b'{"n": 1'  # cut where the chunk was cut, before the first change
    assert redacted[-1].data == b'n": 2}\n'


def test_scan_checks_a_streams_events_joined(tmp_path):
    events = [StreamEvent(b'{"k": "sk_test_4eC39'), StreamEvent(b'HqLyjWDarjtT1zdp7dc"}\n', 5.0)]
    path = recording(tmp_path, RecordedResponse(200, events=events))
    assert [(leak.where, leak.kind) for leak in scan_file(path)] == [("response.events(joined)", "stripe key")]


@contextmanager
def chunked_echo() -> Iterator[int]:
    """Answers with NDJSON in chunks, echoing the request's X-Api-Key cut in two across chunks."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            line = json.dumps({"echo": self.headers["X-Api-Key"], "stripe": KEY}).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (line[:16], line[16:52], line[52:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(0.05)  # so the proxy sees separate chunks
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_secret_split_across_chunks_of_a_recorded_stream_never_reaches_the_recording(tmp_path):
    home = Home.resolve(tmp_path / "home")
    store = EpisodeStore(home)
    with chunked_echo() as port, running_proxy(home, "--allow-host", "127.0.0.1") as proxy:
        episode = create(store, "record", tmp_path / "stream.jsonl")
        answer = agent(proxy, episode).get(f"http://127.0.0.1:{port}/v1/stream", headers={"X-Api-Key": PLAIN})
        path = finish(store, episode)
    store.close()
    assert PLAIN.encode() in answer.content and KEY.encode() in answer.content  # the agent got it all
    response = read_recording(path).exchanges[0].response
    assert response.events is not None and len(response.events) >= 2
    joined = b"".join(e.data for e in response.events)
    assert joined == json.dumps({"echo": MARK, "stripe": "sk_test_" + MARK}).encode() + b"\n"
    assert scan_file(path) == []


# -- query strings and percent-encoded spellings ------------------------------------------------


def test_tokens_in_query_names_bare_parts_and_percent_encoded_are_redacted():
    redactor = Redactor()
    assert redactor.query(KEY) == "sk_test_REDACTED"
    assert redactor.query(f"{KEY}=1&q=x") == "sk_test_REDACTED=1&q=x"
    assert redactor.query("sk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc=1") == "sk_test_REDACTED=1"
    assert redactor.query("a=1;token=plain-token") == "a=1;token=REDACTED"
    assert redactor.query("q=hello+world&limit=2&x=%7E") == "q=hello+world&limit=2&x=%7E"  # spelling kept
    path, query, _, _ = redactor.request("/v1/keys/sk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc/x", f"{KEY}", [], b"", None)
    assert (path, query) == ("/v1/keys/sk_test_REDACTED/x", "sk_test_REDACTED")


def test_a_known_secret_is_scrubbed_however_it_is_percent_or_json_encoded():
    redactor = Redactor()
    secret = "s3cret/Pass@word 4711é"
    secrets = known(redactor, [("X-Api-Key", secret)])
    spellings = [secret, quote(secret), quote(secret, safe=""), quote_plus(secret),
                 re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret)),
                 json.dumps(secret)[1:-1], json.dumps(secret).replace("/", "\\/")[1:-1],
                 "".join(f"\\u{ord(c):04X}" for c in secret)]
    text = " | ".join(spellings)
    assert redactor.scrub_text(text, secrets) == " | ".join([MARK] * len(spellings))
    assert redactor.scrub(text.encode(), secrets) == " | ".join([MARK] * len(spellings)).encode()
    assert redactor.scrub_text("s3cret/Pass@word 4711", secrets) == "s3cret/Pass@word 4711"  # not the secret


def test_a_token_spelled_with_json_escapes_is_redacted():
    body = b'{"note": "sk\\u005ftest_4eC39HqLyjWDarjtT1zdp7dc", "n": "a\\nb"}'
    assert Redactor().body(body, "application/json") == b'{"note": "sk_test_REDACTED", "n": "a\\nb"}'


# -- multipart forms ------------------------------------------------------------------------------


def test_secret_named_multipart_parts_are_redacted_and_the_rest_kept_byte_for_byte():
    redactor = Redactor()
    content_type = 'multipart/form-data; boundary="XyZ"'

    def part(name: str, value: bytes, extra: str = "") -> bytes:
        return f'--XyZ\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode() + value + b"\r\n"

    body = (part("user", b"ann") + part("password", b"hunter2") + part("api_token", PLAIN.encode())
            + part("file", b"\x89PNG\xff\x00", '; filename="a.png"') + b"--XyZ--\r\n")
    expected = (part("user", b"ann") + part("password", b"REDACTED") + part("api_token", b"REDACTED")
                + part("file", b"\x89PNG\xff\x00", '; filename="a.png"') + b"--XyZ--\r\n")
    assert redactor.body(body, content_type) == expected
    secrets = known(redactor, body=body, content_type=content_type)
    assert secrets == {PLAIN}  # `hunter2` is too short to be scrubbed everywhere, but redacted where it was sent
    assert redactor.response_body(f'{{"echo": "{PLAIN}"}}'.encode(), "application/json", secrets) == (
        b'{"echo": "REDACTED"}')


# -- what must not be redacted, and JSON types ---------------------------------------------------


def test_author_fields_are_not_secrets_but_auth_ones_are():
    redactor = Redactor()
    for name in ("author_email", "author_id", "authored_by", "Author", "authority"):
        assert not redactor.secret_name(name), name
    for name in ("auth", "Authorization", "x-auth-token", "auth_token", "basic_auth", "X-Auth", "authKey"):
        assert redactor.secret_name(name), name
    body = b'{"author_email": "ann@acme.test", "author_id": 12, "auth": "abc"}'
    assert redactor.body(body, "application/json") == b'{"author_email": "ann@acme.test", "author_id": 12, ' \
                                                      b'"auth": "REDACTED"}'
    assert redactor.query("author_email=ann%40acme.test") == "author_email=ann%40acme.test"


def test_a_plain_word_sent_as_a_secret_is_not_scrubbed_from_every_answer():
    redactor = Redactor()
    path, query, _, _ = redactor.request("/v1/a", "session=default", [], b"", None,
                                         known(redactor, query="session=default"))
    assert query == "session=REDACTED"  # redacted where it was sent...
    secrets = known(redactor, query="session=default&api_key=Zq81-lp0-X2", body=b'{"password": 12345678}',
                    content_type="application/json")
    assert secrets == frozenset()  # a word, 11 characters, a number: none is scrubbed everywhere
    answer = b'{"default": {"mode": "default"}, "id": 12345678}'
    assert redactor.response_body(answer, "application/json", secrets) == answer  # ...not everywhere else
    long_one = known(redactor, query="session=Zq81lp0X2aa9")
    assert redactor.response_body(b'{"s": "Zq81lp0X2aa9"}', "application/json", long_one) == b'{"s": "REDACTED"}'


def test_secret_named_fields_are_redacted_whatever_their_json_type():
    redactor = Redactor()
    body = b'{"password": 12345678, "n": 12345678, "credentials": {"pin": -4.5e3, "ok": true}, "password_set": false}'
    assert redactor.body(body, "application/json") == (
        b'{"password": "REDACTED", "n": 12345678, "credentials": {"pin": "REDACTED", "ok": true}, '
        b'"password_set": false}')


def test_basic_credentials_with_a_password_too_plain_to_scrub_still_redact_the_header():
    redactor = Redactor()
    blob = base64.b64encode(b"ann:default").decode()
    headers = [("Authorization", f"Basic {blob}")]
    secrets = known(redactor, headers)
    assert secrets == {blob}
    assert redactor.headers(headers) == [("Authorization", "Basic REDACTED")]
    assert redactor.scrub_text("mode=default", secrets) == "mode=default"


@pytest.mark.parametrize("value", ["default", "12345678", "Administrator", "hunter2"])
def test_plain_values_do_not_look_like_secrets(value):
    assert not Redactor().looks_secret(value)
