"""How values read in a terminal cell: state badges, durations, sparklines, prices.

Every state has a symbol as well as a colour, so the table reads without colour too.
Colours are names of theme variables (`text-success`...), resolved by the caller's theme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.text import Text

from monitor.core import format as fmt
from monitor.core.models import Accuracy, EndpointStats, State, ToolHealth

BADGES: dict[State, tuple[str, str, str]] = {
    state: (symbol, fmt.state(state), tint)
    for state, symbol, tint in (
        (State.UP, "●", "text-success"),
        (State.DEGRADED, "◐", "text-warning"),
        (State.RATE_LIMITED, "⏸", "text-warning"),
        (State.DOWN, "✖", "text-error"),
        (State.AUTH, "⚠", "text-error"),
        (State.NO_KEY, "○", ""),
        (State.PENDING, "…", ""),
        (State.DISABLED, "–", ""),
    )
}
SPARK = "▁▂▃▄▅▆▇█"
FAILED = "✖"


def colour(palette: Mapping[str, str], name: str) -> str:
    """A theme variable as a Rich colour; "" (no colour) when the theme lacks it."""
    return palette.get(name, "") if name else ""


def badge(state: State, palette: Mapping[str, str]) -> Text:
    symbol, label, tint = BADGES[state]
    return Text(f"{symbol} {label}", style=colour(palette, tint) or "dim")


def age(moment: datetime | None, now: datetime) -> str:
    return "-" if moment is None else fmt.age((now - moment).total_seconds())


def sparkline(points: Sequence[float | None], width: int, palette: Mapping[str, str]) -> Text:
    """Recent TTFTs scaled to this row's own range; failures show as ✖ in the error colour."""
    points = points[-width:]
    values = [p for p in points if p is not None]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    text = Text()
    for point in points:
        if point is None:
            text.append(FAILED, colour(palette, "text-error"))
        else:
            level = 0 if high == low else round((point - low) / (high - low) * (len(SPARK) - 1))
            text.append(SPARK[level], colour(palette, "text-primary"))
    return text


def tools(health: ToolHealth, palette: Mapping[str, str]) -> Text:
    if health is ToolHealth.OK:
        return Text("✔ ok", style=colour(palette, "text-success"))
    if health is ToolHealth.BROKEN:
        return Text("✖ bad", style=colour(palette, "text-error"))
    return Text("?", style="dim")


def accuracy(quality: Accuracy | None, palette: Mapping[str, str]) -> Text:
    """Share of right answers, in the error colour when significantly below the best's."""
    if quality is None:
        return Text("-", style="dim", justify="right")
    tint = colour(palette, "text-error") if quality.below else ""
    return Text(quality.short(), style=tint, justify="right")


def problem(stats: EndpointStats) -> str:
    """The last error in words; for an endpoint without a key, the variable to set."""
    if stats.missing:
        return f"set {' and '.join(stats.missing)}"
    if stats.last_error is None:
        return ""
    return f"{stats.last_error}: {stats.last_message}" if stats.last_message else stats.last_error
