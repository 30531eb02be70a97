"""Shared argument types, the parent parsers every command builds on, and the exit codes.

Imports argparse only: `oss-monitor --help` must not pay for textual, sqlmodel or httpx.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from monitor.core.format import parse_duration

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = (
    "exit codes: 0 success (a healthy endpoint found), 1 none healthy, 2 bad config or usage,\n"
    "            130 interrupted (Ctrl-C)"
)
# What probing does when not told otherwise (ScheduleSettings / ProbeSettings; a unit test
# keeps them equal), shown in --help. The demo probes faster: it passes its own.
PROBING_DEFAULTS: dict[str, float] = {
    "interval": 60,
    "budget": 0.05,
    "concurrency": 256,
    "timeout": 60,
}


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
    """A window like 15m, 1h, 24h, 7d, 2w, refused at parse time otherwise."""
    from monitor.core.models import parse_window

    try:
        parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def seconds(text: str) -> float:
    """A duration for an option counted in seconds: `90`, `90s`, `2m`, `1h`."""
    try:
        return parse_duration(text, bare_seconds=True).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def label(text: str) -> str:
    if not 0 < len(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 to 64 characters")
    return text


STORE_HELP = (
    "the store: a SQLite file path or a SQLAlchemy URL, e.g. probes.db or "
    "postgresql+psycopg://… (env OSS_MONITOR_DB; default: probes.db in the user data folder)"
)


def common(catalogue: bool = True, store_help: str = STORE_HELP) -> argparse.ArgumentParser:
    """--providers and --db: where the catalogue and the store are."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("where things are")
    if catalogue:
        group.add_argument(
            "--providers",
            metavar="FILE",
            help="catalogue to use instead of the default + user providers.yaml "
            "(env OSS_MONITOR_PROVIDERS)",
        )
    group.add_argument("--db", metavar="URL", help=store_help)
    return parent


def probing(defaults: dict[str, float] = PROBING_DEFAULTS) -> argparse.ArgumentParser:
    """How often and how hard to probe, and who is probing."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("probing")
    group.add_argument(
        "--interval",
        type=seconds,
        default=defaults["interval"],
        metavar="S",
        help="base time between probes of an endpoint, e.g. 90 or 2m (default: %(default)gs)",
    )
    group.add_argument(
        "--budget",
        type=fraction,
        default=defaults["budget"],
        metavar="F",
        help="fraction of each provider's quota probes may spend (default: %(default)g)",
    )
    group.add_argument(
        "--concurrency",
        type=positive(int),
        default=int(defaults["concurrency"]),
        metavar="N",
        help="probes in flight at most (default: %(default)s)",
    )
    group.add_argument(
        "--quality-every", type=at_least_zero, metavar="N",
        help="one quality probe (is the answer right?) in N probes; 0: never (default 10)",
    )  # fmt: skip
    group.add_argument(
        "--timeout",
        type=seconds,
        default=defaults["timeout"],
        metavar="S",
        help="total time one probe may take, e.g. 30 or 1m (default: %(default)gs)",
    )
    group.add_argument(
        "--prober",
        type=label,
        metavar="NAME",
        help="label stored with each probe (default: the host name)",
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
    """A command's parser: its examples and the exit codes under the options."""
    examples = examples if examples.startswith("examples:") else "examples:\n" + examples
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_,
        description=description or help_,
        epilog=f"{examples}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    return parser
