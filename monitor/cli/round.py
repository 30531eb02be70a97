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
    landed: list[Outcome] = []
    # JSON Lines need no Rich console: a cron run does without importing it.
    shown = None if as_json else screen or console()
    live = _live(shown, endpoints, landed) if shown is not None and shown.is_terminal else None

    def on_outcome(outcome: Outcome) -> None:
        landed.append(outcome)
        if shown is None:
            print(outcome_json(outcome), flush=True)
        elif live is None:
            shown.print(outcome_line(outcome))
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
    if shown is None:
        print(round_summary(outcomes, of), file=sys.stderr)
    else:
        if live is not None and outcomes:
            shown.print(round_table(outcomes, shown.width))
        shown.print(round_summary(outcomes, of))
    for hint in round_hints(outcomes):
        print(hint, file=sys.stderr if shown is None else sys.stdout)
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
