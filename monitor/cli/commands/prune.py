"""`oss-monitor prune`: delete raw probes older than an age; hourly rollups stay.

It says what it will delete first, and asks on a terminal; `--yes` is for cron, `--dry-run`
only says.
"""

from __future__ import annotations

import argparse
import sys

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.load import open_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "prune",
        "delete raw probes older than a duration (hourly rollups are kept)",
        "  oss-monitor prune --older-than 30d --dry-run     what would go\n"
        "  oss-monitor prune --older-than 30d               asks before deleting\n"
        "  oss-monitor prune --older-than 4w --yes          no question (cron)",
        [a.common(catalogue=False)],
    )
    parser.add_argument(
        "--older-than", required=True, type=a.window, metavar="AGE", help="e.g. 30d, 12h, 2w"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would go, delete nothing")
    parser.add_argument("--yes", action="store_true", help="delete without asking (cron)")


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.core.format import plural
    from monitor.core.models import parse_window

    before = datetime.now(UTC) - parse_window(args.older_than)
    store = open_store(args)
    doomed = store.older_than(before)
    total = sum(count for _, count, _ in doomed)
    if not total:
        print(f"nothing to delete: no probe older than {args.older_than} in {store.display}")
        return EXIT_OK
    print(f"{plural(total, 'probe')} older than {args.older_than} in {store.display}:")
    for endpoint_id, count, oldest in doomed:
        print(f"  {endpoint_id}: {plural(count, 'probe')}, the oldest from {oldest:%Y-%m-%d}")
    print("Hourly rollups stay, so long windows keep their uptime and percentiles.")
    if args.dry_run:
        print("Dry run: nothing was deleted.")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("pass --yes to delete without a question (no terminal to ask on)")
        if not _confirm(f"Delete {plural(total, 'probe')}? [y/N] "):
            print("Nothing was deleted.")
            return EXIT_OK
    deleted = store.prune(before)
    print(f"deleted {plural(deleted, 'probe')} older than {args.older_than} from {store.display}")
    return EXIT_OK


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:  # Ctrl-D answers no
        return False
