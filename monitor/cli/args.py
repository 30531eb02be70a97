"""Shared argument types, the parent parsers every command builds on, and the exit codes.

Imports argparse only: `oss-monitor --help` must not pay for textual, sqlmodel or httpx.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = (
    "exit codes: 0 healthy endpoint found / success, 1 none healthy, 2 bad config or usage, "
    "130 interrupted"
)


class UsageError(Exception):
    """Bad input from the user: one sentence, exit status 2."""


def positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
        return value

    return parse


def at_least_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def fraction(text: str) -> float:
    value = positive(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction between 0 and 1")
    return float(value)


def port(text: str) -> int:
    """A TCP port; 0 asks the system for any free one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is not between 0 and 65535")
    return value


def window(text: str) -> str:
    """A window like 15m, 1h, 24h, 7d, refused at parse time otherwise."""
    from monitor.core.models import parse_window

    try:
        parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def label(text: str) -> str:
    if not 0 < len(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 to 64 characters")
    return text


def common() -> argparse.ArgumentParser:
    """--providers and --db: where the catalogue and the store are."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("where things are")
    group.add_argument(
        "--providers",
        metavar="FILE",
        help="catalogue to use instead of the default + user providers.yaml "
        "(env OSS_MONITOR_PROVIDERS)",
    )
    group.add_argument(
        "--db",
        metavar="URL",
        help="the store: a SQLite file path or a SQLAlchemy URL, e.g. probes.db or "
        "postgresql+psycopg://… (env OSS_MONITOR_DB; default: probes.db in the user data folder)",
    )
    return parent


def probing() -> argparse.ArgumentParser:
    """How often and how hard to probe, and who is probing."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("probing")
    group.add_argument(
        "--interval", type=positive(float), metavar="S", help="base seconds between probes"
    )
    group.add_argument(
        "--budget",
        type=fraction,
        metavar="F",
        help="fraction of each provider's quota probes may spend (default 0.05)",
    )
    group.add_argument(
        "--concurrency", type=positive(int), metavar="N", help="probes in flight at most"
    )
    group.add_argument(
        "--quality-every", type=at_least_zero, metavar="N",
        help="one quality probe (is the answer right?) in N probes; 0: never (default 10)",
    )  # fmt: skip
    group.add_argument(
        "--timeout", type=positive(float), metavar="S", help="total seconds one probe may take"
    )
    group.add_argument(
        "--prober", type=label, metavar="NAME", help="label stored with each probe (host name)"
    )
    group.add_argument(
        "--region", type=label, metavar="NAME", help="where this prober stands, e.g. eu-west"
    )
    return parent


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    help_: str,
    examples: str,
    parents: list[argparse.ArgumentParser],
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_,
        description=description or help_,
        epilog=examples if examples.startswith("examples:") else "examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    return parser
