"""Run the sandbox proxy on a minimal mitmproxy `Master`.

    python -m sandbox.proxy --home .sandbox --port 8080 --service payments=8101 [--allow-host example.org]
                            [--route api.openai.com=http://127.0.0.1:8000/v1] [--worker I]

With `--worker I` the proxy is one of several processes listening on the same port (SO_REUSEPORT,
Linux: sandbox.proxy.reuseport); the supervisor starts them (sandbox/run/proxy_workers.py).

Not `DumpMaster`: a stock mitmdump loads 36 addons and calls every one of them on every hook, and
measured on 2 cores that dispatch was ~42 % of its CPU. This master holds only what interception
needs, mitmproxy's Proxyserver (sockets), NextLayer (protocol detection) and TlsConfig (the CA and
the certificates it signs), then the sandbox pipeline of `sandbox_addons()`.

`connection_strategy=lazy`: mitmproxy connects upstream only when a request needs it. Requests for
a fake never connect to the vendor at all, and refused hosts are never contacted.

The CA lives in the sandbox home (`<home>/ca/mitmproxy-ca-cert.pem` is what agents trust); it is
created, if missing, before the proxy listens. Once the proxy accepts connections it prints one
line, `proxy listening on HOST:PORT` (the real port, also with `--port 0`). Health check for
supervisors: `GET http://HOST:PORT/_sandbox/health` straight to the proxy answers 200 JSON (with the
answering process's pid and, for a worker, its number).
SIGTERM or SIGINT stops it cleanly (ledgers closed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Iterable, Mapping

from mitmproxy import ctx, exceptions, options

from sandbox.episodes.routes import parse_routes
from sandbox.errors import ConfigError, SandboxError
from sandbox.home import Home
from sandbox.limits import load_limits
from sandbox.proxy import sandbox_addons
from sandbox.proxy.reuseport import install_reuse_port
from sandbox.proxy.route import Routes, parse_pairs
from sandbox.run.bind import require_loopback

logger = logging.getLogger(__name__)


class _Announce:
    """Says `proxy listening on HOST:PORT` once the proxy accepts connections, or stops the master
    if it could not listen (mitmproxy only logs that, and would otherwise run deaf)."""

    def __init__(self) -> None:
        self.failed = False

    def running(self) -> None:
        addresses = ctx.master.addons.get("proxyserver").listen_addrs()
        if not addresses:
            self.failed = True
            ctx.master.shutdown()
            return
        host, port = addresses[0][:2]
        print(f"proxy listening on {host}:{port}", flush=True)


async def serve(
    home: Home,
    routes: Routes,
    *,
    listen_host: str = "127.0.0.1",
    listen_port: int = 8080,
    allow_hosts: Iterable[str] = (),
    max_body_bytes: int | None = None,
    server_routes: Iterable[str] = (),
    worker: int | None = None,
) -> None:
    """Run the proxy in the current event loop until SIGTERM/SIGINT (or `ctx.master.shutdown()`).
    max_body_bytes: bodies over it are refused (sandbox.proxy.limits); default the home's limits.
    worker: this process's number among N proxy workers sharing `listen_port` (SO_REUSEPORT:
    sandbox.proxy.reuseport); None for a proxy alone on its port."""
    # Imported here, not at the top: mitmproxy.addons pulls in ldap3, whose import-time deprecation
    # warnings would otherwise reach anything that imports this module (the CLI, build_parser()).
    from mitmproxy.addons import next_layer, proxyserver, tlsconfig
    from mitmproxy.master import Master

    if worker is not None:
        try:
            install_reuse_port()
        except RuntimeError as exc:
            raise ConfigError(f"proxy worker {worker} cannot share port {listen_port}: {exc}",
                              hint="run one proxy worker (sandbox up --proxy-workers 1)") from None

    opts = options.Options(listen_host=listen_host, listen_port=listen_port, mode=["regular"])
    master = Master(opts, with_termlog=False)
    announce = _Announce()
    master.addons.add(
        proxyserver.Proxyserver(),
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
        *sandbox_addons(home, routes, worker=worker),
        announce,
    )
    try:
        # Set after the addons are in, so TlsConfig sees confdir change and creates (or loads) the
        # CA now, before any socket listens.
        opts.update(confdir=str(home.ca_dir), connection_strategy="lazy", egress_allow_hosts=list(allow_hosts),
                    server_routes=list(server_routes),
                    # mitmproxy's own limit, the only one that refuses a body unread (sandbox.proxy.limits).
                    body_size_limit=str(max_body_bytes or load_limits(home).max_body_bytes))
    except exceptions.OptionsError as exc:
        raise ConfigError(str(exc)) from None

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, master.shutdown)
    try:
        await master.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if announce.failed:
        raise ConfigError(
            f"the proxy could not listen on {listen_host}:{listen_port}",
            hint="is the port in use (another sandbox up?); the log above says why",
        )


def run_proxy(
    home: Home,
    *,
    listen_host: str = "127.0.0.1",
    listen_port: int = 8080,
    service_ports: Mapping[str, int | str],
    allow_hosts: Iterable[str] = (),
    routes: Mapping[str, str] | None = None,
    max_body_bytes: int | None = None,
    server_routes: Iterable[str] = (),
    worker: int | None = None,
) -> None:
    """Run the proxy until SIGTERM/SIGINT. Blocks.

    service_ports: where each fake listens, {"payments": 8101} (or "host:port").
    routes: vendor host -> service id; by default the services registry's hostnames.
    allow_hosts: hosts agents may reach for real (example.org, *.example.org).
    max_body_bytes: request and response bodies over it are refused; default the home's limits.json.
    server_routes: hosts sent to a server of the operator's, for every episode: `HOST=URL` (a model
    server: sandbox/episodes/routes.py).
    worker: this process's number among the proxy workers sharing the port (see `serve`).
    """
    table = Routes.build(service_ports, routes)
    server_routes = [route.to_spec() for route in parse_routes(list(server_routes), where="--route")]
    asyncio.run(serve(home, table, listen_host=listen_host, listen_port=listen_port, allow_hosts=allow_hosts,
                      max_body_bytes=max_body_bytes, server_routes=server_routes, worker=worker))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=None, help="sandbox home (default $SANDBOX_HOME or ./.sandbox)")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--allow-remote", action="store_true",
                        help="listen on a non-loopback --listen-host (containers publishing the port on loopback)")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed when ready)")
    parser.add_argument(
        "--service", action="append", default=[], metavar="NAME=PORT", help="where a fake listens (repeat)"
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="HOST=NAME|URL",
        help="route a vendor host to a fake (HOST=NAME; default: the hostnames of the services registry), or "
             "a host to a server of yours (HOST=URL: api.openai.com=http://127.0.0.1:8000/v1) (repeat)",
    )
    parser.add_argument(
        "--allow-host", action="append", default=[], metavar="HOST", help="a real host agents may reach (repeat)"
    )
    parser.add_argument(
        "--max-body-bytes", type=_positive_int, default=None, metavar="N",
        help="refuse request and response bodies over N bytes (default: max_body_bytes of the home's limits.json)",
    )
    parser.add_argument(
        "--worker", type=int, default=None, metavar="I",
        help="run as proxy worker I of several sharing --port (SO_REUSEPORT, Linux; the supervisor starts them)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log mitmproxy's connection events")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of bytes (e.g. 8388608)")
    return value


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # HOST=URL is a routed host's server (a model server), HOST=NAME a fake.
    to_fakes = [value for value in args.route if "://" not in value]
    to_servers = [value for value in args.route if "://" in value]
    try:
        require_loopback(args.listen_host, args.allow_remote, "the proxy")  # it relays any episode's traffic
        run_proxy(
            Home.resolve(args.home),
            listen_host=args.listen_host,
            listen_port=args.port,
            service_ports=parse_pairs(args.service, "--service"),
            routes=parse_pairs(to_fakes, "--route") if to_fakes else None,
            allow_hosts=args.allow_host,
            max_body_bytes=args.max_body_bytes,
            server_routes=to_servers,
            worker=args.worker,
        )
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
