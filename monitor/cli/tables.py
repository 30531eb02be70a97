"""Tables that fit the terminal: columns drop by priority, as in the dashboard, and the one
long text column (a note, a reason) moves under the table when there is no room beside it.

A 60-column terminal gets the columns that matter most with every id whole, instead of
every column squeezed to a word per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from rich.text import Text

GAP = 2  # the space Rich puts between two columns of a box-less table
MIN_TEXT = 40  # narrower than this, the long text column is stacked under the table


@dataclass(frozen=True)
class Column:
    name: str
    priority: int = 0  # 0 always shows; higher numbers drop first when space runs out
    justify: Literal["left", "right"] = "left"
    text: bool = False  # the long text column: beside the others if it fits, else under them


Cell: TypeAlias = "str | Text"


def fitted(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    styles: Sequence[str | None] | None = None,
) -> Any:
    """A renderable of `rows` that fits in `width` cells."""
    # Rich is imported here: `probe --once --json` (cron) and --help never draw a table.
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cells = [[c if isinstance(c, Text) else Text.from_markup(c) for c in row] for row in rows]
    need = [max([len(c.name)] + [row[i].cell_len for row in cells]) for i, c in enumerate(columns)]
    keep: set[int] = set()
    used = 0
    for i in sorted(range(len(columns)), key=lambda i: columns[i].priority):
        if columns[i].text:
            continue
        if columns[i].priority == 0 or used + need[i] + GAP <= width:
            keep.add(i)
            used += need[i] + GAP
    texts = [i for i, c in enumerate(columns) if c.text]
    beside = bool(texts) and width - used >= min(MIN_TEXT, need[texts[0]])
    if beside:
        keep.update(texts)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    shown = sorted(keep)
    for i in shown:
        column = columns[i]
        table.add_column(
            column.name,
            justify=column.justify,
            no_wrap=not column.text,
            overflow="fold",
            min_width=min(need[i], MIN_TEXT) if column.text else need[i],
        )
    for n, row in enumerate(cells):
        table.add_row(*(row[i] for i in shown), style=styles[n] if styles else None)
    heading = Text(title, style="italic")  # above the table, so a long title wraps whole
    if beside or not texts:
        return Group(heading, table)
    notes = []
    for row in cells:
        note = row[texts[0]]
        if note.plain:
            notes.append(Text.assemble(Text(row[_key(columns)].plain, style="bold"), ": ", note))
    return Group(heading, table, *notes)


def _key(columns: Sequence[Column]) -> int:
    """The column naming each row (the first always shown), to label stacked notes."""
    return next(i for i, c in enumerate(columns) if c.priority == 0 and c.name != "#")
