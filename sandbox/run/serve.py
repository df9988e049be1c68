"""Serve one fake in its own worker processes (gunicorn), never inside the proxy's event loop.

Measured on 2 cores: Flask served inside mitmproxy halves the proxy's throughput, while gunicorn
workers leave the proxy's single event-loop thread to the proxy.

    python -m sandbox.run.serve payments --home .sandbox --port 8101

Loopback only unless `--allow-remote` (containers publishing the port on loopback): a fake
answers anyone holding a fake key. Each gunicorn worker is SIGKILLed when its master dies, however
the master dies (Linux), instead of noticing ~1 s later by polling its parent pid.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from sandbox.errors import SandboxError
from sandbox.home import Home
from sandbox.run.bind import require_loopback
from services import get_service


class _Gunicorn(BaseApplication):
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def serve_service(
    service_id: str,
    home: Home,
    *,
    host: str = "127.0.0.1",
    port: int = 8101,
    workers: int = 2,
    threads: int = 4,
    allow_remote: bool = False,
) -> None:
    """Run the fake `service_id` until SIGTERM/SIGINT. Blocks. Refuses a non-loopback `host`
    unless `allow_remote`."""
    require_loopback(host, allow_remote, f"the {service_id} fake")
    spec = get_service(service_id)
    app = spec.create_app({"home": home, "service": service_id})
    run_wsgi(app, host=host, port=port, workers=workers, threads=threads, name=service_id)


def run_wsgi(app: Any, *, host: str, port: int, workers: int, threads: int, name: str) -> None:
    """Serve a WSGI app with gunicorn's threaded workers until SIGTERM/SIGINT. Blocks."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        # gthread keeps client connections alive, so the proxy reuses its upstream connections.
        "worker_class": "gthread",
        "keepalive": 30,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": f"sandbox-{name}",
        "graceful_timeout": 5,
        "timeout": 60,
        "post_fork": _worker_dies_with_master,
    }
    _Gunicorn(app, options).run()


def _worker_dies_with_master(server: Any, worker: Any) -> None:
    """gunicorn's post_fork hook, in the new worker: SIGKILL when the master dies."""
    from sandbox.run.supervisor import set_death_signal

    set_death_signal(server.pid)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.run.serve", description=__doc__)
    parser.add_argument("service")
    parser.add_argument("--home", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SANDBOX_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--allow-remote", action="store_true",
                        help="listen on a non-loopback --host (containers publishing the port on loopback)")
    args = parser.parse_args(argv)
    try:
        require_loopback(args.host, args.allow_remote, f"the {args.service} fake")  # before the home is made
        serve_service(args.service, Home.resolve(args.home), host=args.host, port=args.port, workers=args.workers,
                      threads=args.threads, allow_remote=args.allow_remote)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
