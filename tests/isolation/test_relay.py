"""The relay's parsing of what a client sends first (TLS SNI, HTTP Host, DNS questions), on real
bytes: a ClientHello made by Python's own TLS stack, a DNS query over a real UDP socket."""

from __future__ import annotations

import socket
import ssl
import struct
import threading

from sandbox.isolation.relay import Relay, host_header, proxy_authorization, server_name


def client_hello(host: str | None) -> bytes:
    """The first flight of a real TLS client (Python's OpenSSL) connecting to `host`."""
    context = ssl.create_default_context()
    context.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_the_sni_of_a_real_client_hello():
    assert server_name(client_hello("api.stripe.com")) == "api.stripe.com"
    assert server_name(client_hello("Acme.Zendesk.com")) == "acme.zendesk.com"


def test_no_sni_or_not_tls_is_none_not_an_error():
    assert server_name(client_hello(None)) is None
    assert server_name(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is None
    hello = client_hello("api.stripe.com")
    for cut in (0, 5, 20, 60, len(hello) // 2):  # whatever arrived so far: never a crash
        server_name(hello[:cut])


def test_host_header_without_port():
    assert host_header(b"GET /v1 HTTP/1.1\r\nhost: api.stripe.com:80\r\nAccept: */*\r\n\r\n") == "api.stripe.com"
    assert host_header(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") is None


def test_proxy_authorization_from_the_proxy_url():
    assert proxy_authorization("http://ep000001:s3cr%40t@127.0.0.1:8080") == "Basic ZXAwMDAwMDE6czNjckB0"


def test_dns_answers_every_a_question_with_the_vendor_ip():
    relay = Relay(gate=None, proxy_url="http://a:b@127.0.0.1:1", vendor_ip="127.0.0.2")  # type: ignore[arg-type]
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    threading.Thread(target=relay.serve_dns, args=(server,), daemon=True).start()

    def ask(name: str, qtype: int) -> bytes:
        labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
        query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + struct.pack("!HH", qtype, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(2)
            client.sendto(query, server.getsockname())
            return client.recv(512)

    answer = ask("evil.example.com", 1)
    assert answer[:2] == b"\x12\x34" and struct.unpack("!H", answer[6:8])[0] == 1
    assert answer[-4:] == socket.inet_aton("127.0.0.2")
    empty = ask("evil.example.com", 28)  # AAAA: no record, so clients use the IPv4 answer
    assert struct.unpack("!H", empty[6:8])[0] == 0 and empty[3] & 0x0F == 0
    server.close()
