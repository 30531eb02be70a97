"""The header line: what the dashboard is doing right now.

One line from 120 columns up (the least important part, the store, is cut first); narrower
terminals wrap it. It changes with every snapshot; redrawn only when its text changed, and
laid out again only when its height may have (a layout of the screen costs far more).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.widgets import Static

from monitor.core.format import duration, plural
from monitor.tui import cells

if TYPE_CHECKING:
    from monitor.tui.app import MonitorApp

SEPARATOR = " · "
ONE_LINE_FROM = 120  # terminal columns


class StatusLine(Static):
    _shown: tuple[MonitorApp, list[str], int] | None = None
    _drawn: tuple[Text, bool] | None = None  # the text on screen, and whether on one line

    def show(self, app: MonitorApp, sorting: list[str], shown: int) -> None:
        self._shown = (app, sorting, shown)
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
                asked = plural(answered + failed, "upstream request")
                parts.append(f"router: {asked}, {failed:,} failed over")
            if snapshot.held:
                parts.append(f"router holds back {', '.join(snapshot.held)} (circuit open)")
        elif not app.endpoints:
            parts.append("no enabled endpoint in the catalogue")
        parts.append(f"window {app.window}")
        if app.only_prober:
            parts.append(f"as measured by {app.only_prober}")
        parts += sorting
        parts.append(f"store {app.store.display}")
        text.append(SEPARATOR)
        text.append(SEPARATOR.join(parts))
        one_line = app.size.width >= ONE_LINE_FROM
        if (text, one_line) == self._drawn:
            return
        # A line that does not wrap is one row high whatever it says: no layout needed.
        layout = not (one_line and self._drawn and self._drawn[1])
        self._drawn = (text, one_line)
        self.styles.text_wrap = "nowrap" if one_line else "wrap"
        self.styles.text_overflow = "ellipsis" if one_line else "fold"
        self.update(text, layout=layout)

    def on_resize(self, _event: events.Resize) -> None:
        if self._shown is not None:
            self.show(*self._shown)


def _probing(app: MonitorApp) -> str:
    match app.probe_state:
        case "on":
            return f"probing ≥{duration(app.schedule.interval_s)}, {app.in_flight} in flight"
        case "paused":
            return f"⏸ PAUSED (p resumes), {app.in_flight} in flight"
        case "starting":
            return "starting to probe"
        case "stopped":
            return "probing stopped (see the error)"
    return "store only (--no-probe)"
