"""`oss-monitor metrics`: Prometheus metrics read from the store."""

from __future__ import annotations

import argparse
import os

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.load import load_catalog_from, open_store
from monitor.cli.startup import started


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "metrics",
        "serve Prometheus metrics read from the store (/metrics)",
        "  oss-monitor metrics --port 9464\n"
        "  oss-monitor metrics --host 0.0.0.0 --db postgresql+psycopg://monitor@db/monitor",
        [a.common()],
    )
    parser.add_argument("--port", type=a.port, default=9464, help="port (default: %(default)s)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind, 0.0.0.0 for a remote Prometheus (default: %(default)s)",
    )
    parser.add_argument(
        "--window",
        type=a.window,
        default="15m",
        help="stats window: 15m, 1h, 24h, 7d or e.g. 3d (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from monitor.metrics import serve

    catalog = load_catalog_from(args)
    store = open_store(args, create=False)

    def ready(port: int) -> None:
        print(f"serving Prometheus metrics on http://{args.host}:{port}/metrics "
              f"from {store.display} (window {args.window}); Ctrl-C stops", flush=True)  # fmt: skip

    started()
    try:
        serve(catalog.enabled(), store, os.environ, args.host, args.port, args.window, ready)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); pick another --port"
        ) from None
    return EXIT_OK
