"""`oss-monitor router`: serve one local OpenAI-compatible endpoint that follows the ranking.

starlette, uvicorn, httpx and the store are imported inside `run`, so --help stays light.
Exit codes: 0 stopped normally, 2 bad input (catalogue, store, port).
"""

from __future__ import annotations

import argparse
import os

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.startup import started
from monitor.core.format import plural
from monitor.core.router_address import ROUTER_DEFAULT_PORT as DEFAULT_PORT
from monitor.core.router_address import ROUTER_DEFAULT_URL as DEFAULT_URL
from monitor.core.router_address import ROUTER_TOKEN_ENV as TOKEN_ENV

EXAMPLES = f"""examples:
  oss-monitor router                           serve {DEFAULT_URL}
  oss-monitor router --port 9000 --db sqlite:///probes.db
  {TOKEN_ENV}=s3cret oss-monitor router --host 0.0.0.0   other machines, with a token
  oss-monitor export opencode --via-router     point OpenCode at it, once

Run `oss-monitor probe` or the dashboard on the same --db so the ranking stays fresh;
the router also learns from the requests it forwards. GET /health says which endpoint
it would use now and why."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    text = "serve one local OpenAI-compatible endpoint that always uses the best healthy provider"
    parser = a.add_command(
        sub,
        "router",
        text,
        EXAMPLES,
        [a.common()],
        description=text + ".\nEach request goes to the best endpoint right now; one that fails "
        "before answering is\nreplaced by the next. Keys come from the environment, as for "
        "probing.",
    )
    parser.add_argument(
        "--port", type=a.port, default=DEFAULT_PORT, help="port (default: %(default)s)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"require `Authorization: Bearer TOKEN` from clients (env {TOKEN_ENV})",
    )


def run(args: argparse.Namespace) -> int:
    from monitor.catalog import CatalogError, load_catalog
    from monitor.core.net import ListenError, is_loopback, listen, url_of
    from monitor.router import Router, RouterError, RouterSettings, make_server
    from monitor.store import Store, StoreError

    if not args.token and not is_loopback(args.host):
        raise UsageError(
            f"--host {args.host} lets other machines spend your keys; pass --token too "
            f"(or set {TOKEN_ENV})"
        )
    try:
        catalog = load_catalog(args.providers)
        if not catalog.enabled():
            raise UsageError("no enabled endpoint in the catalogue; enable one in providers.yaml")
        store = Store(args.db)
        sock = listen(args.host, args.port)
    except (CatalogError, StoreError, RouterError, ListenError) as exc:
        raise UsageError(str(exc)) from None
    own_log_lines()
    router = Router(catalog, store, dict(os.environ), RouterSettings(token=args.token or None))
    guard = f"; clients must send the token ({TOKEN_ENV})" if args.token else ""
    print(
        f"router on {url_of(sock, '/v1')} for {plural(len(catalog.enabled()), 'endpoint')}, "
        f"ranking from {store.display}{guard}; Ctrl-C stops",
        flush=True,
    )
    server = make_server(router)
    started()
    server.run(sockets=[sock])
    return EXIT_OK


def own_log_lines() -> None:
    """Our router's lines on stderr, and nobody else's (httpx logs every request at INFO)."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log = logging.getLogger("oss-monitor")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
