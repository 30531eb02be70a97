"""`oss-monitor dashboard` (the default command): the live ranking in the terminal."""

from __future__ import annotations

import argparse
import os
import sys

from monitor.cli import args as a
from monitor.cli.args import UsageError
from monitor.cli.load import load_catalog_from, open_store, settings_from
from monitor.cli.startup import started

PLAIN = "`oss-monitor probe --once` (one round) or `oss-monitor probe` (continuous lines)"


def need_terminal(instead: str = PLAIN) -> None:
    """The dashboard draws on a terminal, or in a browser under `oss-monitor web` (textual-serve
    names its driver); under cron or in a pipe, say what to use instead."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not os.environ.get("TEXTUAL_DRIVER"):
        raise UsageError(f"the dashboard needs a terminal; for a log or a pipe run {instead}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "dashboard",
        "the live dashboard (the default command)",
        "  oss-monitor dashboard\n  oss-monitor dashboard --no-probe --db postgresql+psycopg://…",
        [a.common(), a.probing()],
    )
    parser.add_argument(
        "--no-probe", action="store_true", help="only show what other processes store"
    )
    parser.add_argument(
        "--only-prober", type=a.label, metavar="NAME", help="show only what prober NAME measured"
    )
    parser.add_argument(
        "--window",
        type=a.window,
        default="1h",
        help="stats window: 15m, 1h, 24h, 7d or e.g. 3d (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from monitor.tui.app import run_dashboard

    need_terminal()
    catalog = load_catalog_from(args)
    store = open_store(args, create=not args.no_probe)
    probe_settings, schedule = settings_from(args)
    started()
    return run_dashboard(
        catalog,
        store,
        dict(os.environ),
        probe_settings,
        schedule,
        probing=not args.no_probe,
        simulated=False,
        window=args.window,
        only_prober=args.only_prober,
    )
