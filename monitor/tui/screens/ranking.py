"""The main screen: the live ranking, its filters and sort order, and a status line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from monitor.catalog import Endpoint
from monitor.core.models import ANSWERING, EndpointStats, ToolHealth
from monitor.tui import cells
from monitor.tui.messages import Snapshot
from monitor.tui.screens.endpoint import EndpointScreen
from monitor.tui.widgets.ranking_table import COLUMNS, RankingTable
from monitor.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from monitor.tui.app import MonitorApp

STATE_ORDER = {state: i for i, state in enumerate(cells.BADGES)}
TOOL_ORDER = {ToolHealth.OK: 0, ToolHealth.UNKNOWN: 1, ToolHealth.BROKEN: 2}
# Columns where bigger is better sort descending first.
DESCENDING = {"speed", "uptime", "age", "quality"}


def sort_key(column: str, ranked: dict[str, int]) -> Callable[[EndpointStats], Any]:
    """A key putting the best value first for `column`; unknown values always go last."""

    def missing_last(value: float | None, sign: int = 1) -> tuple[bool, float]:
        return (value is None, sign * (value or 0.0))

    sign = -1 if column in DESCENDING else 1
    keys: dict[str, Callable[[EndpointStats], Any]] = {
        "rank": lambda s: ranked[s.id],
        "state": lambda s: STATE_ORDER[s.state],
        "id": lambda s: s.id,
        "provider": lambda s: s.endpoint.name.lower(),
        "ttft": lambda s: missing_last(s.ttft_p50_ms),
        "ttfa": lambda s: missing_last(s.ttfa_p50_ms),
        "p95": lambda s: missing_last(s.ttft_p95_ms),
        "total": lambda s: missing_last(s.total_p50_ms),
        "speed": lambda s: missing_last(s.tokens_per_s, sign),
        "uptime": lambda s: missing_last(s.uptime, sign),
        "recent": lambda s: (s.recent_ttft.count(None), missing_last(s.ttft_p50_ms)),
        "tools": lambda s: TOOL_ORDER[s.tool_health],
        "quality": lambda s: missing_last(s.quality.ratio if s.quality else None, sign),
        "price": lambda s: missing_last(_blended_price(s.endpoint)),
        "free": lambda s: not s.endpoint.free,
        "age": lambda s: missing_last(
            s.last_probe_at.timestamp() if s.last_probe_at else None, sign
        ),
        "error": lambda s: (cells.problem(s) == "", cells.problem(s)),
    }
    return keys[column]


def _blended_price(endpoint: Endpoint) -> float | None:
    if endpoint.price is None:
        return 0.0 if endpoint.free else None
    return (endpoint.price.input + 3 * endpoint.price.output) / 4


class RankingScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "filter", tooltip="Filter by name or id"),
        Binding("s", "next_sort", "sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "reverse", False, tooltip="Reverse the sort order"),
        Binding("f", "filter('free_only')", "free only", False, tooltip="Free endpoints only"),
        Binding("h", "filter('has_key')", "has key", False, tooltip="Endpoints with a key only"),
        Binding("g", "filter('up_only')", "up only", False, tooltip="Answering endpoints only"),
        Binding("r", "probe_now", "probe now", False, tooltip="Probe the selected endpoint now"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    sort_by: reactive[str] = reactive("rank")
    reverse: reactive[bool] = reactive(False)
    free_only: reactive[bool] = reactive(False)
    has_key: reactive[bool] = reactive(False)
    up_only: reactive[bool] = reactive(False)
    text: reactive[str] = reactive("")

    app: MonitorApp
    _shown_count = 0  # rows passing the filters, for the status line
    _why: Text | None = None  # the line under the table, as shown

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield RankingTable(id="ranking")
        yield Static(id="why")
        yield Input(placeholder="filter by name or id; Enter keeps it, Esc clears", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._refresh, init=False)
        # These change only the status line: no need to lay out 200 rows again.
        for name in ("in_flight", "probe_state", "window"):
            self.watch(self.app, name, self._show_status, init=False)
        self._refresh()

    @property
    def table(self) -> RankingTable:
        return self.query_one(RankingTable)

    def selected_endpoint(self) -> Endpoint | None:
        selected = self.table.selected_id
        return self.app.catalog.get(selected) if selected else None

    # ------------------------------------------------------------ showing

    def rows(self, snapshot: Snapshot) -> list[EndpointStats]:
        """The stats that pass the filters, in the chosen order."""
        needle = self.text.lower()
        rows = [
            s
            for s in snapshot.stats
            if (not self.free_only or s.endpoint.free)
            and (not self.has_key or not s.missing)
            and (not self.up_only or s.state in ANSWERING)
            and (needle in s.id.lower() or needle in s.endpoint.name.lower())
        ]
        ranked = {s.id: i for i, s in enumerate(snapshot.stats)}
        return sorted(rows, key=sort_key(self.sort_by, ranked), reverse=self.reverse)

    def _refresh(self, *_: object) -> None:
        snapshot = self.app.snapshot
        rows = self.rows(snapshot) if snapshot else []
        if snapshot:
            self.table.show(rows, snapshot.now)
        self._shown_count = len(rows)
        self._show_status()
        self._show_why()

    def _show_status(self, *_: object) -> None:
        self.query_one(StatusLine).show(self.app, self.status_filters(), self._shown_count)

    def status_filters(self) -> list[str]:
        title = next(c.title or c.label for c in COLUMNS if c.key == self.sort_by)
        # The usual order (by rank) goes without saying: the header has little room.
        changed = self.sort_by != "rank" or self.reverse
        words = [f"sorted by {title}{' (reversed)' if self.reverse else ''}"] if changed else []
        words += [
            label
            for label, on in (
                ("free only", self.free_only),
                ("has key", self.has_key),
                ("up only", self.up_only),
            )
            if on
        ]
        if self.text:
            words.append(f"name contains {self.text!r}")
        return words

    def _show_why(self) -> None:
        snapshot, selected = self.app.snapshot, self.table.selected_id
        stats = next((s for s in snapshot.stats if s.id == selected), None) if snapshot else None
        why = Text()
        if stats:
            why.append(f"{stats.endpoint.name}: ", style="bold")
            why.append(stats.why)
        elif snapshot and not snapshot.stats:
            why.append(
                "No endpoint is enabled in the catalogue; `oss-monitor providers` lists them."
            )
        elif snapshot and not self._shown_count and self.filtered:
            why.append("No endpoint matches the filters; f, h, g and / toggle them.")
        if why != self._why:  # each update lays the screen out again
            self._why = why
            self.query_one("#why", Static).update(why)

    @property
    def filtered(self) -> bool:
        return self.free_only or self.has_key or self.up_only or bool(self.text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.app.probing if action == "probe_now" else True

    def action_probe_now(self) -> None:
        endpoint = self.selected_endpoint()
        if endpoint is not None:
            self.app.probe_endpoint(endpoint.id)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_why()
        self.refresh_bindings()  # export needs a selection: the footer shows it enabled now

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(EndpointScreen(self.app.catalog.get(event.row_key.value)))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == self.sort_by:
            self.reverse = not self.reverse
        else:
            self.sort(key)

    # ------------------------------------------------------------ filters and sorting

    def watch_sort_by(self) -> None:
        self._refresh()

    watch_reverse = watch_free_only = watch_has_key = watch_up_only = watch_text = watch_sort_by

    def sort(self, column: str) -> None:
        self.sort_by, self.reverse = column, False

    def action_next_sort(self) -> None:
        """The next column on screen: sorting by a column you cannot see would puzzle."""
        keys = [c.key for c in self.table.shown_columns] or [c.key for c in COLUMNS]
        at = keys.index(self.sort_by) if self.sort_by in keys else -1
        self.sort(keys[(at + 1) % len(keys)])

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse

    def action_filter(self, name: str) -> None:
        setattr(self, name, not getattr(self, name))

    def action_find(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.add_class("-shown")
        filter_input.focus()

    def action_clear_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.value = ""
        filter_input.remove_class("-shown")
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text = event.value.strip()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        if not self.text:
            self.query_one("#filter", Input).remove_class("-shown")
        self.table.focus()

    def commands(self) -> Iterable[SystemCommand]:
        """Palette entries beyond the key bindings: sort by each column on screen."""
        for column in self.table.shown_columns:
            title = column.title or column.label
            yield SystemCommand(f"Sort by {title}", "best first", partial(self.sort, column.key))
