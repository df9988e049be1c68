"""The relay inside the agent's network namespace: the only way out, and it leads to the proxy.

It listens where an agent may send traffic and hands every connection to the gate (sandbox/
isolation/gate.py), which connects it on the host's loopback to one of a fixed set of targets:

    127.0.0.1:<proxy port>       → the proxy, byte for byte (HTTPS_PROXY keeps its URL)
    127.0.0.1:<each fake's port> → that fake, byte for byte (SANDBOX_<SERVICE>_URL keeps working;
                                   the fake ledgers such exchanges itself, `via = direct`)
    <vendor ip>:443              → the proxy, as `CONNECT <TLS SNI>:443`: a client that ignores
                                   HTTPS_PROXY reaches the fake exactly as a proxied one does
    <vendor ip>:80               → the proxy, as `CONNECT <Host header>:80`
    127.0.0.1:53 (UDP)           → a tiny DNS server answering every name with the vendor ip

And one way in: webhook deliveries. The agent's endpoint listens on this namespace's loopback, which
the host cannot reach; so the relay long-polls the sandbox's webhook mailbox through the gate
(`serve_webhooks`, sandbox/webhooks/mailbox.py), POSTs each delivery to the agent's server here and
takes its answer back. The agent has no listener that leads to the mailbox: only the relay does.

Vendor hostnames are in the namespace's /etc/hosts; any other name resolves (through that DNS
server) to the vendor ip as well, so an attempt to reach it goes through the proxy, whose egress
stage refuses it and writes it to the ledger: a score says "egress refused to: <host>" instead of
a silent DNS failure. Nothing is decided here: the relay only picks the proxy or a fake, and the
proxy's own pipeline (episode, egress, route, ledger) does the rest.

Threads, not asyncio: two per connection, each a blocking copy loop. An agent opens few
connections, and the proxy's one event loop saturates long before this does (bench/
bench_isolation.py measures it).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

CHUNK = 256 * 1024
HEAD_LIMIT = 64 * 1024  # bytes read while looking for a ClientHello's SNI or a request's Host
SNIFF_TIMEOUT = 10.0  # seconds a client may take to send its first bytes on :443 / :80


# host, port, kind: "pipe" (to `target` as is), "tls" (CONNECT by SNI), "http" (CONNECT by Host).
# Not a dataclass nor a typing.NamedTuple: their imports would cost each agent start milliseconds.
Listener = collections.namedtuple("Listener", "host port kind target", defaults=("proxy",))


class GateClient:
    """Asks the gate, over an inherited SOCK_SEQPACKET socket, for a connected TCP socket to a
    target by name. The gate answers with the socket itself (SCM_RIGHTS), so no byte is copied on
    the host side; one request at a time, as the answers carry no request id."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self.lock = threading.Lock()

    def open(self, target: str) -> socket.socket:
        with self.lock:
            self.channel.sendall(target.encode())
            message, fds, _, _ = socket.recv_fds(self.channel, 1024, 1)
        if fds:
            sock = socket.socket(fileno=fds[0])
            sock.setblocking(True)
            return sock
        raise ConnectionError(message.decode(errors="replace") or "the gate is gone")


def proxy_authorization(proxy_url: str) -> str:
    """`Basic base64(episode:token)` from `http://episode:token@127.0.0.1:8080`."""
    parts = urlsplit(proxy_url)
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def server_name(hello: bytes) -> str | None:
    """The SNI of a TLS ClientHello (the first record, as far as it has arrived), else None."""
    try:
        if len(hello) < 9 or hello[0] != 0x16 or hello[5] != 0x01:
            return None
        at = 9 + 2 + 32  # record header, handshake header, client version, random
        at += 1 + hello[at]  # session id
        at += 2 + struct.unpack_from("!H", hello, at)[0]  # cipher suites
        at += 1 + hello[at]  # compression methods
        end = at + 2 + struct.unpack_from("!H", hello, at)[0]
        at += 2
        while at + 4 <= min(end, len(hello)):
            kind, size = struct.unpack_from("!HH", hello, at)
            at += 4
            if kind == 0:  # server_name: list length, then (type 0 = host_name, length, name)
                if hello[at + 2] == 0:
                    length = struct.unpack_from("!H", hello, at + 3)[0]
                    return hello[at + 5:at + 5 + length].decode("ascii").lower() or None
                return None
            at += size
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    return None


def host_header(head: bytes) -> str | None:
    """The Host of an HTTP/1 request head, without its port."""
    for line in head.split(b"\r\n")[1:]:
        if not line:
            break
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"host":
            host = value.strip().decode("latin-1")
            return (host.rpartition(":")[0] if host.count(":") == 1 else host).lower() or None
    return None


def _read_hello(conn: socket.socket) -> bytes:
    """Read until the first TLS record is complete (or the limit): the SNI is in it."""
    data = b""
    while len(data) < HEAD_LIMIT:
        chunk = conn.recv(CHUNK)
        if not chunk:
            break
        data += chunk
        if len(data) >= 5 and (data[0] != 0x16 or len(data) >= 5 + struct.unpack_from("!H", data, 3)[0]):
            break
    return data


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < HEAD_LIMIT:
        chunk = conn.recv(CHUNK)
        if not chunk:
            break
        data += chunk
    return data


class Relay:
    def __init__(self, gate: GateClient, proxy_url: str, vendor_ip: str) -> None:
        self.gate = gate
        self.authorization = proxy_authorization(proxy_url)
        self.vendor_ip = vendor_ip

    # -- connections -------------------------------------------------------------------------------

    def handle(self, conn: socket.socket, listener: Listener) -> None:
        upstream = None
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if listener.kind == "pipe":
                upstream = self.gate.open(listener.target)
                first = b""
            else:
                conn.settimeout(SNIFF_TIMEOUT)
                if listener.kind == "tls":
                    first = _read_hello(conn)
                    host = server_name(first)
                else:
                    first = _read_head(conn)
                    host = host_header(first)
                conn.settimeout(None)
                if not first:
                    return
                # No name (a client that connected by address): the proxy refuses and ledgers it too.
                upstream = self._tunnel(host or self.vendor_ip, listener.port)
                if upstream is None:
                    return
            if first:
                upstream.sendall(first)
            self._pipe(conn, upstream)
        except OSError:
            pass  # the agent sees its connection close: the proxy's ledger has the story, if any
        finally:
            conn.close()
            if upstream is not None:
                upstream.close()

    def _tunnel(self, host: str, port: int) -> socket.socket | None:
        """A connection into the proxy with `CONNECT host:port` accepted, or None if refused."""
        upstream = self.gate.open("proxy")
        upstream.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         f"Proxy-Authorization: {self.authorization}\r\n\r\n".encode())
        reply = _read_head(upstream)
        status = reply.split(b" ", 2)[1:2]
        if status != [b"200"] or not reply.endswith(b"\r\n\r\n"):
            upstream.close()
            return None
        return upstream

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(CHUNK):
                    dst.sendall(data)
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                # One side reset: make the other copy loop end too.
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        other = threading.Thread(target=copy, args=(b, a), daemon=True)
        other.start()
        copy(a, b)
        other.join()

    # -- webhooks, inwards ---------------------------------------------------------------------------

    def serve_webhooks(self) -> None:
        """Fetch deliveries for this episode from the mailbox, post each to the agent's own loopback,
        return the answer; forever (the relay dies with the namespace)."""
        import time

        # After the agent's start, not during it: the imports below would compete with the agent's
        # own start for the CPU, and no agent registers an endpoint within its first 0.2 s.
        time.sleep(WEBHOOK_START_DELAY)
        import http.client
        import json

        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", timeout=WEBHOOK_POLL_TIMEOUT)
                conn.sock = self.gate.open("webhooks")
                conn.sock.settimeout(WEBHOOK_POLL_TIMEOUT)
                conn.request("GET", "/v1/next", headers={"Authorization": self.authorization})
                answer = conn.getresponse()
                letter = json.loads(answer.read() or b"null") if answer.status == 200 else None
                conn.close()
                if answer.status not in (200, 204):
                    time.sleep(1.0)  # refused (the episode finished): ask again later, quietly
                if not letter:
                    continue
                result = _post_inwards(letter)
                conn = http.client.HTTPConnection("127.0.0.1", timeout=WEBHOOK_POLL_TIMEOUT)
                conn.sock = self.gate.open("webhooks")
                body = json.dumps(result).encode()
                conn.request("POST", f"/v1/answer/{int(letter['id'])}", body=body,
                             headers={"Authorization": self.authorization, "Content-Type": "application/json"})
                conn.getresponse().read()
                conn.close()
            except (OSError, ValueError, KeyError, TypeError):
                time.sleep(1.0)  # the gate or the mailbox is gone for now: the deliverer retries its side

    # -- DNS ---------------------------------------------------------------------------------------

    def answer_dns(self, query: bytes) -> bytes | None:
        """Every A question gets the vendor ip; other types get an empty NOERROR (so IPv4 is used)."""
        if len(query) < 12:
            return None
        at = 12
        while at < len(query) and query[at]:
            at += 1 + query[at]
        if at + 5 > len(query):
            return None
        qtype = struct.unpack_from("!H", query, at + 1)[0]
        question = query[12:at + 5]
        answers = qtype == 1
        header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, int(answers), 0, 0)  # answer, recursion on
        body = header + question
        if answers:
            body += struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(self.vendor_ip)
        return body

    def serve_dns(self, sock: socket.socket) -> None:
        while True:
            try:
                query, peer = sock.recvfrom(2048)
                reply = self.answer_dns(query)
                if reply:
                    sock.sendto(reply, peer)
            except OSError:
                continue

    # -- the loop ----------------------------------------------------------------------------------

    def serve(self, listening: Iterable[tuple[socket.socket, Listener]], dns: socket.socket | None) -> None:
        if dns is not None:
            threading.Thread(target=self.serve_dns, args=(dns,), daemon=True).start()
        selector = selectors.DefaultSelector()
        for sock, listener in listening:
            selector.register(sock, selectors.EVENT_READ, listener)
        while True:
            for key, _ in selector.select():
                try:
                    conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                threading.Thread(target=self.handle, args=(conn, key.data), daemon=True).start()


WEBHOOK_POLL_TIMEOUT = 40.0  # longer than the mailbox's long poll
WEBHOOK_START_DELAY = 0.2
WEBHOOK_SEND_TIMEOUT = 10.0
WEBHOOK_ANSWER_BYTES = 64 * 1024
INWARD_ADDRESSES = ("127.0.0.1", "::1")  # deliveries go to the agent's own loopback, nowhere else


def _post_inwards(letter: dict) -> dict:
    """POST one delivery to the agent's server in this namespace; its answer, JSON-ready."""
    import http.client

    if letter.get("address") not in INWARD_ADDRESSES:
        return {"status": None, "error": f"relay: {letter.get('address')!r} is not this namespace's loopback"}
    conn = http.client.HTTPConnection(letter["address"], int(letter["port"]), timeout=WEBHOOK_SEND_TIMEOUT)
    try:
        conn.putrequest("POST", letter["path"], skip_host=True, skip_accept_encoding=True)
        body = base64.b64decode(letter["body"])
        for name, value in letter["headers"]:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read(WEBHOOK_ANSWER_BYTES)
        return {"status": response.status, "headers": response.getheaders(),
                "body": base64.b64encode(data).decode()}
    except (OSError, http.client.HTTPException) as exc:
        return {"status": None, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        conn.close()


def bind(listeners: Iterable[Listener]) -> list[tuple[socket.socket, Listener]]:
    """The listening sockets, bound before the agent starts, so its first connect finds them."""
    out = []
    for listener in listeners:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listener.host, listener.port))
        sock.listen(512)
        out.append((sock, listener))
    return out
