"""How numbers, durations, prices and states read to a person: one format everywhere.

The CLI, the dashboard, the router's log and the metrics' help all speak through these, so
1094.4 ms is "1,094 ms" wherever it shows and a rate-limited endpoint is "limited" in every
table. Imports nothing heavy: `oss-monitor --help` parses durations with it.

Text we did not write (a provider's, a file's) goes through `printable()` / `markup()` before it
reaches a terminal, Rich markup or an alert hook: a control character (ESC[2J, an OSC title, a
bidi override) is shown as a visible stand-in, a lone surrogate (which cannot be encoded, stored
or printed) as its escape, and Rich markup is escaped where text goes into markup.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.catalog import Endpoint
    from monitor.core.models import State

UNKNOWN = "-"
UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"(\d{1,7})([smhdw])|(\d{1,7}(?:\.\d{1,20})?)")
DURATION_HINT = "use a number and a unit: 90s, 30m, 24h, 7d, 2w"
# C0 and C1 controls, DEL, bidi overrides and isolates, lone surrogates.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
STATE_LABELS = {
    "up": "up",
    "degraded": "degraded",
    "rate_limited": "limited",
    "down": "down",
    "auth": "auth",
    "no_key": "no key",
    "pending": "pending",
    "disabled": "off",
}


def number(value: float | None) -> str:
    """A whole number with thousands separators: 1,094; "-" when unknown."""
    return UNKNOWN if value is None else f"{value:,.0f}"


def ms(value: float | None) -> str:
    """Milliseconds with the unit: "1,094 ms"; "-" when unknown."""
    return UNKNOWN if value is None else f"{number(value)} ms"


def plural(count: int, word: str, words: str | None = None) -> str:
    """ "1 probe", "2 probes", "1,200 endpoints"."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def duration(seconds: float) -> str:
    """A span in its largest unit: 45s, 5m, 1.5m, 29m, 3h, 2d (whole when it is, else rounded)."""
    for unit, size in UNITS.items():
        if seconds >= size or unit == "s":
            value = seconds / size
            if value == round(value):
                return f"{round(value)}{unit}"
            return f"{value:.1f}{unit}" if value < 10 else f"{round(value)}{unit}"
    raise AssertionError("unreachable: seconds is the last unit")


def age(seconds: float) -> str:
    """How long ago, rounded down to its largest unit: 59s, 4m, 2h, 3d."""
    whole = max(0, int(seconds))
    for unit, size in UNITS.items():
        if unit != "w" and whole >= size:
            return f"{whole // size}{unit}"
    return "0s"


def parse_duration(text: str, *, bare_seconds: bool = False) -> timedelta:
    """`<number><s|m|h|d|w>` (or a bare number of seconds where `bare_seconds`); ValueError
    with one message for every option that takes a duration."""
    match = DURATION.fullmatch(text.strip())
    if match is None or (match.group(3) and not bare_seconds):
        raise ValueError(f"{text!r} is not a duration; {DURATION_HINT}")
    if match.group(3):
        seconds = float(match.group(3))
    else:
        seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration; {DURATION_HINT}")
    return timedelta(seconds=seconds)


def price(endpoint: Endpoint) -> str:
    """USD per 1M tokens as "in/out"; "free" for a free endpoint without a price (or 0/0)."""
    cost = endpoint.price
    if cost is None or (cost.input == 0 and cost.output == 0):
        return "free" if endpoint.free or cost is not None else UNKNOWN
    return f"{cost.input:g}/{cost.output:g}"


def state(value: State | str) -> str:
    """The one word a state goes by in tables and lines ("no key", never "no-key")."""
    return STATE_LABELS[str(value)]


def printable(text: str) -> str:
    """`text` with every character that could act on a terminal or fail to encode made
    visible: C0 controls as their Unicode control pictures (ESC as ␛), others as `\\uXXXX`."""
    return UNPRINTABLE.sub(_stand_in, text)


def markup(text: str) -> str:
    """`printable(text)` escaped for Rich markup: `[/bold]` prints as itself."""
    from rich.markup import escape

    return escape(printable(text))


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"\\u{code:04x}"
