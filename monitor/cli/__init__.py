"""The command line: one parser, one module per command, one mapping of errors to exit codes.

Kept light at import time (argparse only): every heavy module (textual, sqlmodel, httpx) is
imported inside the command that needs it, so `oss-monitor --help` starts fast.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.cli.args import EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
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
from monitor.cli.startup import collector_off

TOP_LEVEL = ("-h", "--help", "--version")
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
        "  oss-monitor --providers my.yaml     the same, with dashboard options\n"
        "  oss-monitor probe --once            one probe round, a table, an exit code (cron)\n"
        "  oss-monitor rank --window 24h       best endpoints over the last day\n"
        "  oss-monitor providers               the catalogue and which keys are set\n\n"
        + EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse; options before any command belong to the default command, the dashboard. An
    unknown option is reported with that command's usage and the closest real option."""
    if not argv or (argv[0].startswith("-") and argv[0] not in TOP_LEVEL):
        argv = ["dashboard", *argv]
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = _subparsers(parser)[args.command]
        options = [s for action in command._actions for s in action.option_strings]
        word = extra[0].split("=", 1)[0]
        close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; see oss-monitor {args.command} -h"
        what = "option" if word.startswith("-") else "argument"
        command.error(f"unknown {what} {word}{hint}")
    return args


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    with collector_off():  # until the command's start-up ends (see monitor.cli.startup)
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = parse(build_parser(), list(sys.argv[1:] if argv is None else argv))
    from monitor.catalog import CatalogError
    from monitor.store import StoreError

    known = (CatalogError, StoreError, UsageError)
    try:
        return int(COMMANDS[args.command].run(args))
    except known as exc:
        print(f"oss-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ExceptionGroup as group:  # raised inside a task group (e.g. a full disk mid-round)
        if group.subgroup(BrokenPipeError) is not None:
            return _reader_left()
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
    except BrokenPipeError:
        return _reader_left()


def _reader_left() -> int:
    """`oss-monitor … | head` closed the pipe: stop quietly, as other command-line tools do."""
    import os

    # Python would complain again while flushing stdout at exit: point it at /dev/null.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
