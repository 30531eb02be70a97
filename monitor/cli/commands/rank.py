"""`oss-monitor rank`: the ranking from the stored probes, best first."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, EXIT_UNHEALTHY
from monitor.cli.load import load_catalog_from, open_store, standings
from monitor.cli.output import console, ms, print_rank
from monitor.core.format import markup

if TYPE_CHECKING:
    from monitor.catalog import Endpoint
    from monitor.store import Store


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
        "--window", type=a.window, default="1h", help="15m, 1h, 24h, 7d, or e.g. 30m, 3d"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
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
        print(json.dumps([s.as_json() for s in stats], indent=2))
    else:
        title = args.window + (f" as measured by {args.prober}" if args.prober else "")
        print_rank(stats, title)
    return EXIT_OK if any(s.state in ANSWERING for s in stats) else 1


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
        rows_json = [{"prober": p, "region": probers[p], **s.as_json()} for p, s in rows]
        print(json.dumps(rows_json, indent=2))
        return EXIT_OK if rows else EXIT_UNHEALTHY
    from rich.table import Table

    table = Table(title=f"by prober over {args.window}", title_justify="left")
    left = ("endpoint", "prober", "region", "state")
    for name in (*left, "uptime", "TTFT p50", "p95", "tok/s"):
        table.add_column(name, justify="left" if name in left else "right")
    for prober, s in rows:
        table.add_row(
            s.id, markup(prober), markup(probers[prober] or ""), s.state.value.replace("_", "-"),
            s.uptime_text(), ms(s.ttft_p50_ms), ms(s.ttft_p95_ms), ms(s.tokens_per_s),
        )  # fmt: skip
    console().print(table)
    return EXIT_OK if rows else EXIT_UNHEALTHY
