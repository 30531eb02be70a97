"""`oss-monitor web`: the same dashboard in a browser (one dashboard process per tab)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.startup import started

TOKEN_ENV = "OSS_MONITOR_WEB_TOKEN"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "web",
        "serve the dashboard in a browser",
        "  oss-monitor web                              http://127.0.0.1:8080 on this machine\n"
        "  oss-monitor web --demo                       the demo's simulated fleet, in a browser\n"
        f"  {TOKEN_ENV}=s3cret oss-monitor web --host 0.0.0.0\n"
        "                                               other machines open it with ?token=s3cret",
        [a.common()],
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=a.port, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"require ?token=TOKEN on the first page load (env {TOKEN_ENV}); "
        "needed for any --host but loopback",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when it differs from --host:--port (a proxy, a name)",
    )
    parser.add_argument("--demo", action="store_true", help="serve the demo's simulated fleet")
    parser.add_argument(
        "--no-probe", action="store_true", help="only show what other processes store"
    )
    parser.add_argument(
        "--window", type=a.window, default="1h", help="stats window: 15m, 1h, 24h, 7d"
    )


def dashboard_command(args: argparse.Namespace) -> str:
    """The command textual-serve starts for each browser tab."""
    command = [sys.executable, "-m", "monitor", "demo" if args.demo else "dashboard"]
    if not args.demo:
        command += ["--window", args.window] + (["--no-probe"] if args.no_probe else [])
        command += ["--providers", args.providers] if args.providers else []
    command += ["--db", args.db] if args.db else []
    return shlex.join(command)


def run(args: argparse.Namespace) -> int:
    from monitor.core.net import ListenError, is_loopback, listen, url_of

    if not args.token and not is_loopback(args.host):
        raise UsageError(
            f"--host {args.host} shows your dashboard to other machines; pass --token too "
            f"(or set {TOKEN_ENV})"
        )
    if args.demo and args.providers:
        raise UsageError("--demo serves its own simulated catalogue; drop --providers")
    try:
        sock = listen(args.host, args.port)
    except ListenError as exc:
        raise UsageError(str(exc)) from None
    from monitor.tui.web import WebDashboard

    public = (args.public_url or url_of(sock)).rstrip("/")
    server = WebDashboard(dashboard_command(args), sock, public, args.token or None)
    started()
    ask = "?token=…" if args.token else ""
    print(f"dashboard on {public}/{ask} (one dashboard per browser tab); Ctrl-C stops", flush=True)
    server.serve()
    return EXIT_OK
