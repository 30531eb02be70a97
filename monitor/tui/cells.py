"""How values read in a terminal cell: state badges, durations, sparklines, prices.

Every state has a symbol as well as a colour, so the table reads without colour too.
Colours are names of theme variables (`text-success`...), resolved by the caller's theme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.text import Text

from monitor.catalog import Endpoint
from monitor.core.models import Accuracy, EndpointStats, State, ToolHealth

BADGES: dict[State, tuple[str, str, str]] = {
    State.UP: ("●", "up", "text-success"),
    State.DEGRADED: ("◐", "degraded", "text-warning"),
    State.RATE_LIMITED: ("⏸", "limited", "text-warning"),
    State.DOWN: ("✖", "down", "text-error"),
    State.AUTH: ("⚠", "auth", "text-error"),
    State.NO_KEY: ("○", "no key", ""),
    State.PENDING: ("…", "pending", ""),
    State.DISABLED: ("–", "off", ""),
}
SPARK = "▁▂▃▄▅▆▇█"
FAILED = "✖"


def colour(palette: Mapping[str, str], name: str) -> str:
    """A theme variable as a Rich colour; "" (no colour) when the theme lacks it."""
    return palette.get(name, "") if name else ""


def badge(state: State, palette: Mapping[str, str]) -> Text:
    symbol, label, tint = BADGES[state]
    return Text(f"{symbol} {label}", style=colour(palette, tint) or "dim")


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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


def price(endpoint: Endpoint) -> str:
    """USD per 1M tokens, input/output."""
    if endpoint.price is None:
        return "free" if endpoint.free else "-"
    return f"{endpoint.price.input:g}/{endpoint.price.output:g}"


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
