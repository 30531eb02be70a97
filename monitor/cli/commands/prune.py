"""`oss-monitor prune`: delete raw probes older than an age; hourly rollups stay."""

from __future__ import annotations

import argparse

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.load import open_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "prune",
        "delete raw probes older than a duration (hourly rollups are kept)",
        "  oss-monitor prune --older-than 30d",
        [a.common()],
    )
    parser.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h")


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.core.models import parse_window

    try:
        age = parse_window(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc).replace("window", "age")) from None
    store = open_store(args)
    deleted = store.prune(datetime.now(UTC) - age)
    print(f"deleted {deleted} probes older than {args.older_than} from {store.display}")
    return EXIT_OK
