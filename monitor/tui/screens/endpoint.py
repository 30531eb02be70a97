"""One endpoint in detail: latency and uptime charts, recent probes, quota, catalogue entry,
and the quality canary's failed answers (expected and received).

The store is read in a thread worker when the screen opens and again whenever a new probe of
this endpoint shows up in the app's snapshot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from monitor.catalog import Endpoint
from monitor.core import format as fmt
from monitor.core.format import duration, printable
from monitor.core.models import EndpointStats, parse_window
from monitor.scheduler import budget_limits, min_interval
from monitor.store import Probe, QualityFailure, as_utc
from monitor.tui import cells
from monitor.tui.messages import Failed
from monitor.upstream.catalog_check import RECORD, describe_record

if TYPE_CHECKING:
    from monitor.tui.app import MonitorApp

RECENT = 50
FAILED_ANSWERS = 10
PROBE_COLUMNS = ("time (UTC)", "kind", "result", "status", "TTFT", "total", "tok/s", "message")


@dataclass(frozen=True)
class Detail:
    """What the store knows about one endpoint, read in one go off the event loop."""

    now: datetime
    recent: list[Probe]  # newest first
    hours: list[tuple[datetime, int, int]]  # hour, ok, failed chat probes (all probers)
    used: list[tuple[int, int, int]]  # window seconds, probes sent, probes allowed
    failures: list[QualityFailure]  # newest first
    catalog_check: str | None  # the last `catalog check` of it, in words


class EndpointScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("r", "probe_now", "probe now"),
    ]

    app: MonitorApp

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__()
        self.endpoint = endpoint
        self._loaded = False
        self._seen: datetime | None = None  # the last probe of it already loaded
        self._stats: EndpointStats | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        with VerticalScroll(id="detail"):
            with Horizontal(id="charts"):
                yield PlotextPlot(id="latency")
                yield PlotextPlot(id="hourly")
                yield PlotextPlot(id="speed")
            with Horizontal(id="facts"):
                yield Static(id="quota")
                yield Static(id="entry")
            yield Static(id="answers")
            yield DataTable(id="probes", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#probes", DataTable).add_columns(*PROBE_COLUMNS)
        self.query_one("#entry", Static).update(self._entry())
        self.watch(self.app, "snapshot", self._on_snapshot)

    def selected_endpoint(self) -> Endpoint:
        return self.endpoint

    def action_probe_now(self) -> None:
        self.app.probe_endpoint(self.endpoint.id)

    # ------------------------------------------------------------ data

    def _on_snapshot(self) -> None:
        snapshot = self.app.snapshot
        if snapshot is None:
            return
        stats = next((s for s in snapshot.stats if s.id == self.endpoint.id), None)
        if stats is None:
            return
        self._show_summary(stats)
        # Read the store again only when a new probe of this endpoint has landed.
        if not self._loaded or stats.last_probe_at != self._seen:
            self._loaded, self._seen = True, stats.last_probe_at
            self._load(snapshot.now, snapshot.window)

    class Loaded(Message):
        def __init__(self, detail: Detail) -> None:
            super().__init__()
            self.detail = detail

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load(self, now: datetime, window: str) -> None:
        try:
            self.post_message(self.Loaded(self._read(now, window)))
        except Exception as exc:  # the app says it once; the next probe tries again
            self.app.post_message(Failed("reading the endpoint's probes", exc))

    def _read(self, now: datetime, window: str) -> Detail:
        store, endpoint = self.app.store, self.endpoint
        since = now - max(parse_window(window), timedelta(hours=24))
        hours: dict[datetime, list[int]] = {}
        for rollup in store.rollups(since, endpoint.id):
            if rollup.kind != "chat":  # uptime counts chat probes, as the ranking does
                continue
            counts = hours.setdefault(as_utc(rollup.hour), [0, 0])
            counts[0] += rollup.ok_count
            counts[1] += rollup.fail_count
        limits = budget_limits(endpoint, self.app.schedule.budget_fraction)
        used = [
            (span, store.count_since(endpoint.id, now - timedelta(seconds=span)), limit)
            for span, limit in limits
        ]
        return Detail(
            now=now,
            recent=store.recent(endpoint.id, RECENT),
            hours=[(hour, ok, failed) for hour, (ok, failed) in sorted(hours.items())],
            used=used,
            failures=store.quality_failures(endpoint.id, FAILED_ANSWERS),
            catalog_check=describe_record(store.remembered(RECORD).get(endpoint.id)),
        )

    def on_endpoint_screen_loaded(self, message: Loaded) -> None:
        self._show(message.detail)

    # ------------------------------------------------------------ showing

    def _show_summary(self, stats: EndpointStats) -> None:
        self._stats = stats
        text = Text()
        text.append(f"{self.endpoint.name} ", style="bold")
        text.append(f"({self.endpoint.id})  ")
        text.append_text(cells.badge(stats.state, self.app.theme_variables))
        if stats.rank:
            text.append(f"  rank {stats.rank}")
        text.append(f"\n{stats.why}")
        self.query_one("#summary", Static).update(text)

    def _show(self, detail: Detail) -> None:
        self.query_one("#entry", Static).update(self._entry(detail.catalog_check))
        chat = [p for p in reversed(detail.recent) if p.kind == "chat"]
        # x is minus the minutes ago (now on the right); the ticks say it as whole minutes.
        minutes = [-(detail.now - as_utc(p.started_at)).total_seconds() / 60 for p in chat]
        ok = [(m, p) for m, p in zip(minutes, chat, strict=True) if p.ok]
        failed = [m for m, p in zip(minutes, chat, strict=True) if not p.ok]
        with self._chart("#latency", f"latency (ms), last {len(chat)} chat probes") as plt:
            if ok:
                plt.plot([m for m, _ in ok], [p.ttft_ms or 0 for _, p in ok], label="TTFT")
                plt.plot([m for m, _ in ok], [p.total_ms or 0 for _, p in ok], label="total")
            if failed:
                plt.scatter(failed, [0] * len(failed), marker="x", color="red", label="failed")
            _minutes_axis(plt, minutes)
        with self._chart("#hourly", "uptime per hour (%)") as plt:
            if detail.hours:
                labels = [f"{h:%H}h" for h, _, _ in detail.hours]
                plt.bar(labels, [100 * ok / max(ok + bad, 1) for _, ok, bad in detail.hours])
                plt.ylim(0, 100)
        with self._chart("#speed", "decode speed (tokens/s)") as plt:
            if ok:
                plt.plot([m for m, _ in ok], [p.tokens_per_s or 0 for _, p in ok])
            _minutes_axis(plt, minutes)
        self.query_one("#quota", Static).update(self._quota(detail))
        self.query_one("#answers", Static).update(self._answers(detail.failures))
        self._show_probes(detail.recent)

    @contextmanager
    def _chart(self, selector: str, title: str) -> Iterator[Plot]:
        """Redraw one chart from scratch: yields its plotext figure, then repaints it."""
        widget = self.query_one(selector, PlotextPlot)
        widget.plt.clear_figure()
        widget.plt.title(title)
        yield widget.plt
        widget.refresh()

    def _show_probes(self, probes: list[Probe]) -> None:
        table = self.query_one("#probes", DataTable)
        table.clear()
        palette = self.app.theme_variables
        for p in probes:
            result = Text(
                "ok" if p.ok else f"✖ {p.error}",
                style=cells.colour(palette, "text-success" if p.ok else "text-error"),
            )
            table.add_row(
                f"{as_utc(p.started_at):%m-%d %H:%M:%S}",
                p.kind,
                result,
                str(p.status or "-"),
                fmt.number(p.ttft_ms),
                fmt.number(p.total_ms),
                fmt.number(p.tokens_per_s),
                Text(printable(p.message or "")),  # a str cell would be read as markup
            )

    def _quota(self, detail: Detail) -> Text:
        text = Text("Probe budget", style="bold")
        fraction = self.app.schedule.budget_fraction
        if detail.used:
            text.append(f" ({fraction:.0%} of the provider's quota, all processes)\n")
            for span, used, allowed in detail.used:
                text.append(f"  per {duration(span)}: {used:,} of {allowed:,} used\n")
        else:
            text.append(": no quota in the catalogue\n")
        interval = min_interval(self.endpoint, self.app.schedule)
        text.append(f"  probed at most every {duration(interval)}\n")
        text.append("Rate-limit headers seen", style="bold")
        headers = next((p.rate_limit for p in detail.recent if p.rate_limit), None)
        if headers is None:
            text.append(": none\n")
        else:
            text.append("\n")
            for name, value in json.loads(headers).items():
                text.append(f"  {printable(name)}: {printable(value)}\n")
        return text

    def _answers(self, failures: list[QualityFailure]) -> Text:
        """Accuracy, and the failed items with what was expected and what came back (provider
        text: appended as plain text, never parsed as markup)."""
        text = Text("Answers (quality canary)", style="bold")
        quality = self._stats.quality if self._stats else None
        if quality is None:
            text.append(": none checked in this window\n")
        else:
            text.append(f": {quality.text}")
            if quality.below:
                text.append(f", answers wrong: {quality.below}", style="bold")
            text.append("\n")
        for failure in failures:
            text.append(f"  {as_utc(failure.started_at):%m-%d %H:%M:%S}  {failure.task_id}  ")
            text.append(failure.failure or "failed", style="bold")
            text.append(f": expected {failure.expected}, received {failure.received}\n")
        return text

    def _entry(self, catalog_check: str | None = None) -> Text:
        """The catalogue entry; the key is shown only as present or missing."""
        text = Text("Catalogue entry\n", style="bold")
        if catalog_check:
            text.append("  last check: ", style="dim")
            text.append(f"{catalog_check}\n")
        missing = self.app.missing.get(self.endpoint.id, ())
        for name, value in self.endpoint.model_dump(exclude_none=True).items():
            if name == "api_key_env":
                state = "missing: set it" if value in missing else "present"
                value = f"{value} ({state})"
            elif isinstance(value, dict):
                value = ", ".join(f"{k} {v:g}" for k, v in value.items() if v is not None)
            text.append(f"  {name}: ", style="dim")
            text.append(f"{value}\n")
        if self.endpoint.keyless:
            text.append("  key: not needed\n")
        return text


def _minutes_axis(plt: Plot, minutes: list[float]) -> None:
    """Whole, positive "minutes ago" labels, at most 6, now (0) on the right."""
    span = max(1, math.ceil(-min(minutes, default=0)))
    step = max(1, math.ceil(span / 5))
    ticks = list(range(0, span + 1, step))
    plt.xticks([-t for t in ticks], [str(t) for t in ticks])
    plt.xlim(-span, 0)
    plt.xlabel("minutes ago")
