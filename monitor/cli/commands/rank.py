"""`oss-monitor rank`: the ranking from the stored probes, best first."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, EXIT_UNHEALTHY
from monitor.cli.load import load_catalog_from, open_store, standings
from monitor.cli.output import console, print_rank, stats_json
from monitor.cli.tables import Column, fitted
from monitor.core import format as fmt
from monitor.core.format import markup

if TYPE_CHECKING:
    from monitor.catalog import Endpoint
    from monitor.store import Store


BY_PROBER = (
    Column("endpoint"),
    Column("prober"),
    Column("region", 3),
    Column("state"),
    Column("uptime", 1, "right"),
    Column("TTFT p50", 1, "right"),
    Column("tok/s", 2, "right"),
    Column("p95", 3, "right"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "rank",
        "rank endpoints from the stored probes, best first",
        "  oss-monitor rank\n  oss-monitor rank --window 24h --json\n"
        "  oss-monitor rank --by-prober --db postgresql+psycopg://monitor@db/monitor",
        [a.common()],
    )
    parser.add_argument(
        "--window",
        type=a.window,
        default="1h",
        help="15m, 1h, 24h, 7d, or e.g. 30m, 3d, 2w (default: %(default)s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON Lines, one object per endpoint"
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--prober", type=a.label, metavar="NAME", help="only what NAME measured")
    who.add_argument(
        "--by-prober", action="store_true", help="compare probers: one row per endpoint and prober"
    )


def run(args: argparse.Namespace) -> int:
    from monitor.core.models import ANSWERING

    endpoints = load_catalog_from(args).enabled()
    store = open_store(args, create=False)
    if args.by_prober:
        return rank_by_prober(endpoints, store, args)
    stats = standings(endpoints, store, os.environ, args.window, args.prober)
    if args.json:
        for s in stats:
            print(stats_json(s, args.window, args.prober))
    else:
        title = args.window + (f" as measured by {args.prober}" if args.prober else "")
        print_rank(stats, title)
    return EXIT_OK if any(s.state in ANSWERING for s in stats) else EXIT_UNHEALTHY


def rank_by_prober(endpoints: list[Endpoint], store: Store, args: argparse.Namespace) -> int:
    """One row per endpoint and prober: "Groq is fast from eu-west, slow from us-east"."""
    from datetime import UTC, datetime

    from monitor.core.models import parse_window

    probers = store.probers(datetime.now(UTC) - parse_window(args.window))
    rows = [
        (prober, s)
        for prober in probers
        for s in standings(endpoints, store, os.environ, args.window, prober)
        if s.samples
    ]
    rows.sort(key=lambda row: (row[1].id, row[1].ttft_p50_ms or float("inf")))
    if args.json:
        for prober, s in rows:
            print(stats_json(s, args.window, prober, probers[prober]))
        return EXIT_OK if rows else EXIT_UNHEALTHY
    table = [
        [
            s.id, markup(prober), markup(probers[prober] or ""), fmt.state(s.state),
            s.uptime_text(),
            fmt.number(s.ttft_p50_ms), fmt.number(s.tokens_per_s), fmt.number(s.ttft_p95_ms),
        ]
        for prober, s in rows
    ]  # fmt: skip
    screen = console()
    screen.print(fitted(f"by prober over {args.window}", BY_PROBER, table, screen.width))
    return EXIT_OK if rows else EXIT_UNHEALTHY
