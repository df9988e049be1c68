"""A hostile agent, run under `sandbox run` by tests/security/test_isolated_agent.py.

It tries to get out of its episode from inside the agent's process, with what the runner gave it
(its environment) plus a few targets the test names in HOSTILE_* variables, and prints one JSON
line: {attempt: {"through": bool, "evidence": str}}. It attacks only loopback addresses and files.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
import urllib.request


def tcp_answer(host: str, port: int, send: bytes) -> bytes | str:
    """What a TCP peer at host:port answers to `send`, or why nothing did."""
    try:
        with socket.create_connection((host, port), timeout=3) as sock:
            sock.sendall(send)
            return sock.recv(4096)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def main() -> None:
    env = os.environ
    out: dict[str, dict[str, object]] = {}

    def record(name: str, through: bool, evidence: object) -> None:
        out[name] = {"through": bool(through), "evidence": str(evidence)[:300]}

    secret_port = int(env["HOSTILE_SECRET_PORT"])
    answer = tcp_answer("127.0.0.1", secret_port, b"hello\n")
    record("host_loopback_server", isinstance(answer, bytes) and b"SECRET" in answer, answer)

    control_port = int(env["HOSTILE_CONTROL_PORT"])
    answer = tcp_answer("127.0.0.1", control_port, b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    record("control_api_port", isinstance(answer, bytes) and b"ok" in answer, answer)

    for name in ("control.token", "ca/mitmproxy-ca.pem", "control.db", "run/proxy.secret", "limits.json"):
        path = os.path.join(env["HOSTILE_HOME"], name)
        try:
            with open(path, "rb") as f:
                data = f.read(64)
            record(f"read_home_{name}", bool(data), f"read {len(data)} bytes")
        except OSError as exc:
            record(f"read_home_{name}", False, exc)
    victim = env["HOSTILE_VICTIM_LEDGER"]
    try:
        with open(victim, "rb") as f:
            record("read_victim_ledger", True, f"read {len(f.read(64))} bytes")
    except OSError as exc:
        record("read_victim_ledger", False, exc)

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo("outside.example.com", 443)}
        record("resolve_outside_name", any(not a.startswith("127.") and a != "::1" for a in addresses), addresses)
    except OSError as exc:
        record("resolve_outside_name", False, exc)

    proxy_pid = int(env["HOSTILE_PROXY_PID"])
    try:
        os.kill(proxy_pid, 0)
        record("see_the_proxy_process", True, f"pid {proxy_pid} is visible")
    except OSError as exc:
        record("see_the_proxy_process", False, exc)

    # Not an escape but containment: ignoring HTTPS_PROXY must land in the fake, not the vendor.
    context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request("https://api.stripe.com/v1/customers?limit=1",
                                     headers={"Authorization": f"Bearer {env['STRIPE_API_KEY']}"})
    try:
        with opener.open(request, timeout=10) as resp:
            body = resp.read()
        from_the_fake = b'"object": "list"' in body or b'"object":"list"' in body
        record("vendor_call_ignoring_the_proxy_escaped", not from_the_fake, f"{resp.status} {body[:80]!r}")
    except OSError as exc:
        record("vendor_call_ignoring_the_proxy_escaped", False, f"not contained in the fake either: {exc}")

    # The webhook mailbox on the host: only the relay may reach it, through the gate. (Any answer
    # counts: one without credentials comes at once, where our own would wait for a delivery.)
    answer = tcp_answer("127.0.0.1", int(env["HOSTILE_WEBHOOKS_PORT"]), b"GET /v1/next HTTP/1.0\r\n\r\n")
    record("webhook_mailbox_port", isinstance(answer, bytes) and answer.startswith(b"HTTP/"), answer)

    # A webhook endpoint on a host port: the sandbox, not the agent, would make that connection.
    # Judged from the host (did the secret server get a POST?); here only that the attempt was made.
    stripe_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({"https": env["HTTPS_PROXY"]}),
                                               urllib.request.HTTPSHandler(context=context))
    auth = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    try:
        for path, form in (("/v1/webhook_endpoints", f"url=http://127.0.0.1:{secret_port}/&enabled_events[0]=*"),
                           ("/v1/customers", "email=hook@example.com")):
            request = urllib.request.Request(f"https://api.stripe.com{path}", data=form.encode(), headers=auth)
            with stripe_proxy.open(request, timeout=10) as resp:
                resp.read()
        time.sleep(2.0)  # the deliverer's round and the relay's poll
        record("webhook_to_the_hosts_loopback", False, "registered and raised an event; judged by the host")
    except OSError as exc:
        record("webhook_to_the_hosts_loopback", False, f"could not even register: {exc}")

    print("HOSTILE " + json.dumps(out, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
