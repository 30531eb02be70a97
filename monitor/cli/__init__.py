"""The command line: one parser, one module per command, one mapping of errors to exit codes.

Kept light at import time (argparse only): every heavy module (textual, sqlmodel, httpx) is
imported inside the command that needs it, so `oss-monitor --help` starts fast.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from monitor.cli.args import EXIT_CODES, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from monitor.cli.commands import (
    catalog,
    dashboard,
    demo,
    export,
    fleet,
    metrics,
    probe,
    providers,
    prune,
    rank,
    router,
    web,
)

COMMANDS = {
    "dashboard": dashboard,
    "demo": demo,
    "probe": probe,
    "rank": rank,
    "providers": providers,
    "catalog": catalog,
    "prune": prune,
    "fleet": fleet,
    "export": export,
    "metrics": metrics,
    "router": router,
    "web": web,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oss-monitor",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Find the fastest, most reliable endpoint serving gpt-oss-120b, right now.",
        epilog="examples:\n"
        "  oss-monitor demo                    the dashboard on a simulated fleet (no key needed)\n"
        "  oss-monitor                         the live dashboard on your providers\n"
        "  oss-monitor probe --once            one probe round, a table, an exit code (cron)\n"
        "  oss-monitor rank --window 24h       best endpoints over the last day\n"
        "  oss-monitor providers               the catalogue and which keys are set\n\n"
        + EXIT_CODES,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["dashboard", *(argv if argv is not None else sys.argv[1:])])
    from monitor.catalog import CatalogError
    from monitor.store import StoreError

    known = (CatalogError, StoreError, UsageError)
    try:
        return int(COMMANDS[args.command].run(args))
    except known as exc:
        print(f"oss-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ExceptionGroup as group:  # raised inside a task group (e.g. a full disk mid-round)
        mine = group.subgroup(known)
        if mine is None:
            raise
        first: BaseException = mine
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        print(f"oss-monitor: {first}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("oss-monitor: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        # Everything left is freed by the process exit; a last full collection of the cyclic
        # garbage at interpreter shutdown cost ~250 ms a run (cron runs `probe --once` often).
        gc.freeze()
