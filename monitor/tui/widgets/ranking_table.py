"""The ranking table: one row per endpoint, updated in place by key.

`show()` diffs each row against what is on screen and touches only the cells that changed,
then reorders rows only when the order changed; each cell's rendered lines are kept by what
it shows (see `_render_cell`). The cursor starts on the top row (rank #1) and stays there
as the ranking settles; once the user moves it, it follows that endpoint. Columns drop by
priority when the terminal is narrow; the last one takes the spare width.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from monitor.core import format as fmt
from monitor.core.models import EndpointStats, State
from monitor.tui import cells


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    priority: int  # 0 is always shown; higher numbers drop first when the terminal is narrow
    justify: Literal["left", "right"] = "left"
    title: str = ""  # the name in sort commands, when the label is terse


COLUMNS: tuple[Column, ...] = (
    Column("rank", "#", 3, 0, "right", "rank"),
    Column("state", "state", 10, 0),
    Column("id", "endpoint", 16, 0),
    Column("provider", "provider", 24, 7),
    Column("ttft", "TTFT", 6, 1, "right", "TTFT p50"),
    Column("ttfa", "answer", 6, 5, "right", "first answer token p50 (reasoning excluded)"),
    Column("p95", "p95", 6, 4, "right", "TTFT p95"),
    Column("total", "total", 6, 5, "right", "total p50"),
    Column("speed", "tok/s", 5, 4, "right", "decode tokens/s"),
    Column("uptime", "uptime", 6, 1, "right"),
    Column("recent", "recent TTFT", 16, 3),
    Column("tools", "tools", 5, 5, title="tool calls"),
    Column("quality", "quality", 11, 6, "right", "answers right"),
    Column("price", "$/M in/out", 10, 6, title="price"),
    Column("free", "free", 4, 3, title="free tier"),
    Column("age", "age", 4, 2, "right", "last probe age"),
    Column("error", "last error", 14, 2),
)
FLEXIBLE = "error"  # takes whatever width is left
PADDING = 2  # DataTable's cell padding, one each side
SCROLLBAR = 2
RENDERED_CELLS = 5_000  # rendered cells kept (a screen shows ~700); beyond it, start afresh


def fit(columns: Sequence[Column], width: int) -> list[Column]:
    """The columns that fit in `width`, most important first, in their display order."""
    chosen: set[str] = set()
    used = 0
    for column in sorted(columns, key=lambda c: c.priority):
        need = column.width + PADDING
        if column.priority == 0 or used + need <= width:
            chosen.add(column.key)
            used += need
    return [c for c in columns if c.key in chosen]


class RankingTable(DataTable[Text]):
    """Endpoints, best first (or in the order given); rows keyed by endpoint id."""

    # DataTable hides its Enter binding; ours shows in the footer, as Enter opens the details.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "details")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.shown_columns: list[Column] = []
        self.widths: dict[str, int] = {}
        self.palette: dict[str, str] = {}
        self._shown: dict[str, tuple[Hashable, ...]] = {}  # each row's cells, by _content
        self._rendered: dict[Hashable, list[list[Segment]]] = {}
        self._last: tuple[Sequence[EndpointStats], datetime] | None = None
        self._placed = 0  # the row we last put the cursor on; elsewhere means the user moved it
        self.following = False  # the cursor follows its endpoint (after the user chose one)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._rebuild())

    def on_resize(self, event: events.Resize) -> None:
        wanted = fit(COLUMNS, event.size.width - SCROLLBAR)
        if [c.key for c in wanted] != [c.key for c in self.shown_columns]:
            self._rebuild(event.size.width)

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _rebuild(self, width: int | None = None) -> None:
        """New columns (a resize) or new colours (a theme change): lay the table out again."""
        width = (width or self.size.width) - SCROLLBAR
        self.shown_columns = fit(COLUMNS, width)
        spare = width - sum(c.width + PADDING for c in self.shown_columns)
        self.widths = {
            c.key: c.width + (max(spare, 0) if c.key == FLEXIBLE else 0) for c in self.shown_columns
        }
        self.palette = dict(self.app.theme_variables)
        self._rendered.clear()
        selected = self.selected_id if self.following else None
        self.clear(columns=True)
        for column in self.shown_columns:
            label = Text(column.label, justify=column.justify)
            self.add_column(label, width=self.widths[column.key], key=column.key)
        self._shown = {}
        if self._last is not None:
            self.show(*self._last, select=selected)

    def show(
        self, stats: Sequence[EndpointStats], now: datetime, select: str | None = None
    ) -> None:
        """Make the rows match `stats`, in that order, changing only what differs."""
        self._last = (stats, now)
        if not self.shown_columns:
            return  # not laid out yet; the first resize shows the rows
        if self.cursor_row != self._placed:
            self.following = True
        selected = select or (self.selected_id if self.following else None)
        wanted = {s.id for s in stats}
        for key in [k for k in self._shown if k not in wanted]:
            self.remove_row(key)
            del self._shown[key]
        for s in stats:
            # Comparing what decides each cell is cheap; Text is made only for changed cells.
            shown = tuple(_content(c.key, s, now) for c in self.shown_columns)
            before = self._shown.get(s.id)
            if before is None:
                self.add_row(*(self._cell(c, s, now) for c in self.shown_columns), key=s.id)
            else:
                for column, old, new in zip(self.shown_columns, before, shown, strict=True):
                    if old != new:
                        self.update_cell(s.id, column.key, self._cell(column, s, now))
            self._shown[s.id] = shown
        order = [s.id for s in stats]
        if [r.key.value for r in self.ordered_rows] != order:
            position = {key: i for i, key in enumerate(order)}
            self.sort("id", key=lambda cell: position[cell.plain])
        target = self.get_row_index(selected) if selected in self._shown else 0
        if self.row_count:
            self.move_cursor(row=target, animate=False)
        self._placed = self.cursor_row

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rendered.clear()  # the CSS or the theme changed: cells look different

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A cell's lines, rendered again only when what it shows or where it sits changed.

        DataTable keys its own cache by a count of all updates to the table, so one changed
        cell re-renders every visible one (most of the dashboard's CPU). The row index stays
        in the key: the rendered lines carry it for the mouse, and zebra stripes depend on it.
        """
        rows = self.ordered_rows
        shown = self._shown.get(rows[row_index].key.value or "") if row_index >= 0 else None
        if column_index < 0 or (row_index >= 0 and shown is None):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_index, column_index, shown[column_index] if shown else None,  # None: the header
            base_style, width, cursor, hover, self.show_cursor, self._show_hover_cursor,
            self._pseudo_class_state,
        )  # fmt: skip
        lines = self._rendered.get(key)
        if lines is None:
            if len(self._rendered) >= RENDERED_CELLS:
                self._rendered.clear()
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._rendered[key] = lines
        return lines

    def _cell(self, column: Column, s: EndpointStats, now: datetime) -> Text:
        match column.key:
            case "state":
                return cells.badge(s.state, self.palette)
            case "recent":
                return cells.sparkline(s.recent_ttft, self.widths[column.key], self.palette)
            case "tools":
                return cells.tools(s.tool_health, self.palette)
            case "quality":
                return cells.accuracy(s.quality, self.palette)
        # An endpoint we cannot probe (no key, off) is listed, dimmed, not hidden; an old
        # error of an endpoint that is up now is history, so it is dimmed too.
        dim = s.state in (State.NO_KEY, State.DISABLED) or (
            column.key == "error" and s.state is State.UP
        )
        text = _text(column.key, s, now)
        return Text(text, style="dim" if dim else "", justify=column.justify, no_wrap=True)


def _text(key: str, s: EndpointStats, now: datetime) -> str:
    match key:
        case "rank":
            return str(s.rank or "-")
        case "id":
            return s.id
        case "provider":
            return s.endpoint.name
        case "ttft":
            return fmt.number(s.ttft_p50_ms)
        case "ttfa":
            return fmt.number(s.ttfa_p50_ms)
        case "p95":
            return fmt.number(s.ttft_p95_ms)
        case "total":
            return fmt.number(s.total_p50_ms)
        case "speed":
            return fmt.number(s.tokens_per_s)
        case "uptime":
            return s.uptime_text() if s.samples else "-"
        case "price":
            return fmt.price(s.endpoint)
        case "free":
            return "yes" if s.endpoint.free else ""
        case "age":
            return cells.age(s.last_probe_at, now)
        case "error":
            return cells.problem(s)
    raise ValueError(f"no column {key!r}")


def _content(key: str, s: EndpointStats, now: datetime) -> Hashable:
    """What decides how a cell looks (in `_cell`), cheap to make and compare."""
    match key:
        case "state":
            return s.state
        case "recent":
            return tuple(s.recent_ttft)
        case "tools":
            return s.tool_health
        case "quality":
            return s.quality
    return _text(key, s, now), s.state  # the state dims some cells
