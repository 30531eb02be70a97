"""`probe --once` on screen: each result as it lands, and what finished survives a Ctrl-C.

On a terminal a live line per endpoint turns from "probing…" into its result, then the table;
in a pipe each result is one plain line (or one JSON line) the moment it lands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from monitor.cli.output import (
    console,
    outcome_json,
    outcome_line,
    round_hints,
    round_summary,
    round_table,
)

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.catalog import Endpoint
    from monitor.scheduler import Outcome

Runner = Callable[[Callable[["Outcome"], None]], list["Outcome"]]


def show_round(
    endpoints: Sequence[Endpoint],
    run: Runner,
    as_json: bool,
    screen: Console | None = None,
) -> tuple[list[Outcome], bool]:
    """Run one round through `run(on_outcome)`, showing results as they land.

    Returns the outcomes in catalogue order and whether the round was interrupted.
    """
    screen = screen or console()
    landed: list[Outcome] = []
    live = None if as_json or not screen.is_terminal else _live(screen, endpoints, landed)

    def on_outcome(outcome: Outcome) -> None:
        landed.append(outcome)
        if as_json:
            print(outcome_json(outcome), flush=True)
        elif live is None:
            screen.print(outcome_line(outcome))
        else:
            live.update(_pending(endpoints, landed), refresh=True)

    interrupted = False
    context: AbstractContextManager[Any] = live if live is not None else nullcontext()
    try:
        with context:
            run(on_outcome)
    except KeyboardInterrupt:
        interrupted = True
    order = {e.id: i for i, e in enumerate(endpoints)}
    outcomes = sorted(landed, key=lambda o: order.get(o.endpoint_id, len(order)))
    of = len(endpoints) if interrupted else None
    out = sys.stderr if as_json else None
    if live is not None and outcomes:
        screen.print(round_table(outcomes, screen.width))
    if out is None:
        screen.print(round_summary(outcomes, of))
    else:
        print(round_summary(outcomes, of), file=out)
    for hint in round_hints(outcomes):
        print(hint, file=out or sys.stdout)
    return outcomes, interrupted


def _live(screen: Console, endpoints: Sequence[Endpoint], landed: list[Outcome]) -> Any:
    from rich.live import Live

    return Live(_pending(endpoints, landed), console=screen, transient=True, auto_refresh=False)


def _pending(endpoints: Sequence[Endpoint], landed: Sequence[Outcome]) -> Any:
    """A line per endpoint: its result once landed, "probing…" until then."""
    from rich.console import Group
    from rich.text import Text

    done: dict[str, list[Outcome]] = {}
    for outcome in landed:
        done.setdefault(outcome.endpoint_id, []).append(outcome)
    lines: list[Text] = []
    for endpoint in endpoints:
        for outcome in done.get(endpoint.id, []):
            line = Text.from_markup(outcome_line(outcome), overflow="ellipsis")
            line.no_wrap = True
            lines.append(line)
        if endpoint.id not in done:
            lines.append(Text(f"… {endpoint.id}: probing", style="dim"))
    return Group(*lines)
