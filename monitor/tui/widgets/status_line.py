"""The header line: what the dashboard is doing right now, in one or two lines."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from monitor.core.format import duration
from monitor.tui import cells

if TYPE_CHECKING:
    from monitor.tui.app import MonitorApp

SEPARATOR = " · "


class StatusLine(Static):
    def show(self, app: MonitorApp, sorting: list[str], shown: int) -> None:
        palette = app.theme_variables
        text = Text()
        text.append("oss-monitor", style="bold")
        if app.simulated:
            text.append(" ")
            warning = cells.colour(palette, "text-warning")
            text.append(" SIMULATED ", style=f"bold reverse {warning}")
        parts = [_probing(app)]
        snapshot = app.snapshot
        if snapshot is not None:
            counts = Counter(s.state for s in snapshot.stats)
            for state, (symbol, label, _tint) in cells.BADGES.items():
                if counts[state]:
                    parts.append(f"{symbol} {counts[state]} {label}")
            if shown < len(snapshot.stats):
                parts.append(f"{shown} of {len(snapshot.stats)} shown")
            answered, failed = snapshot.traffic
            if answered or failed:
                parts.append(f"router: {answered + failed} upstream requests, {failed} failed over")
        elif not app.endpoints:
            parts.append("no enabled endpoint in the catalogue")
        parts.append(f"window {app.window}")
        if app.only_prober:
            parts.append(f"as measured by {app.only_prober}")
        parts += sorting
        parts.append(f"store {app.store.display}")
        text.append(SEPARATOR)
        text.append(SEPARATOR.join(parts))
        self.update(text)


def _probing(app: MonitorApp) -> str:
    match app.probe_state:
        case "on":
            return f"probing every ≥{duration(app.schedule.interval_s)}, {app.in_flight} in flight"
        case "paused":
            return f"⏸ PAUSED (p resumes), {app.in_flight} in flight"
        case "starting":
            return "starting to probe"
        case "stopped":
            return "probing stopped (see the error)"
    return "not probing (--no-probe): showing what the store holds"
