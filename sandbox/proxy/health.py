"""Answer `GET /_sandbox/health` sent to the proxy's own address, for supervisors.

A plain HTTP request to the proxy itself (`curl http://127.0.0.1:8080/_sandbox/health`) reaches
the proxy as an origin-form request whose Host is the proxy's listening address. It needs no
episode credentials, touches no ledger and never goes upstream. Requests for `/_sandbox/` on any
other host are not health checks: route refuses them. The answer names the process (`pid`) and,
among N proxy workers sharing the port, its number (`worker`): the kernel picks the worker per
connection, so a health check on a new connection may reach any of them.
"""

from __future__ import annotations

import json
import os
import time

from mitmproxy import http

HEALTH_PATH = "/_sandbox/health"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class HealthCheck:
    def __init__(self, worker: int | None = None) -> None:
        self.started = time.time()
        self.worker = worker  # which of N proxy workers sharing the port answered (None: a lone proxy)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if request.path.partition("?")[0] != HEALTH_PATH or flow.response:
            return
        listen_host, listen_port = flow.client_conn.sockname[:2]
        if request.scheme != "http" or request.port != listen_port:
            return
        if request.host != listen_host and request.host not in _LOOPBACK:
            return
        body = {"status": "ok", "uptime_s": round(time.time() - self.started, 1), "pid": os.getpid()}
        if self.worker is not None:
            body["worker"] = self.worker
        flow.response = http.Response.make(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
