"""What commands print: tables sized to the terminal, numbers formatted one way, JSON."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor.core.format import markup

if TYPE_CHECKING:
    from monitor.core.models import EndpointStats, ProbeResult
    from monitor.scheduler import Outcome

PER: dict[str | int, str] = {
    "rpm": "min",
    "rph": "h",
    "rpd": "day",
    60: "min",
    3600: "h",
    86400: "day",
}


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def console() -> Any:
    from rich.console import Console

    # Piped into a log (cron): do not squeeze tables into 80 columns.
    width = None if sys.stdout.isatty() else 200
    return Console(highlight=False, width=width)


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    result = outcome.result
    if result is None:
        no_key = outcome.skipped.startswith("no key")
        return {
            "id": outcome.endpoint_id,
            "kind": outcome.kind.value,
            "ok": False,
            "status": None,
            "error": "no_key" if no_key else None,
            "skipped": outcome.skipped,
            "message": outcome.skipped,
            "headers_ms": None,
            "ttft_ms": None,
            "total_ms": None,
            "tokens_per_s": None,
            "output_tokens": None,
        }
    data = result.model_dump(mode="json", exclude={"endpoint_id", "rate_limit"})
    return {"id": result.endpoint_id, "skipped": "", **data}


def print_round(outcomes: Sequence[Outcome]) -> None:
    from rich.table import Table

    table = Table(title="probe round", title_justify="left")
    for name, justify in (
        ("endpoint", "left"),
        ("kind", "left"),
        ("result", "left"),
        ("status", "right"),
        ("TTFT ms", "right"),
        ("total ms", "right"),
        ("tok/s", "right"),
        ("tokens", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("note", overflow="fold", min_width=20)
    counts: dict[str, int] = {}
    for o in outcomes:
        r = o.result
        if r is None:
            label = "no key" if o.skipped.startswith("no key") else "skipped"
            counts[label] = counts.get(label, 0) + 1
            table.add_row(
                o.endpoint_id, o.kind.value, f"[dim]{label}[/]", "", "", "", "", "",
                markup(o.skipped),
            )  # fmt: skip
            continue
        label = "ok" if r.ok else str(r.error)
        counts["ok" if r.ok else "failed"] = counts.get("ok" if r.ok else "failed", 0) + 1
        style = "green" if r.ok else "red"
        table.add_row(
            r.endpoint_id,
            r.kind.value,
            f"[{style}]{label}[/]",
            str(r.status or "-"),
            ms(r.ttft_ms),
            ms(r.total_ms),
            ms(r.tokens_per_s),
            str(r.output_tokens or "-"),
            markup(r.message) or verdict_note(r),
        )
    screen = console()
    screen.print(table)
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    screen.print(f"{len(outcomes)} probes: {summary}")
    if counts.get("no key") and not counts.get("ok"):
        screen.print(
            "No endpoint answered and keys are missing: set one of the variables named above "
            "(`oss-monitor providers` lists them all), or see it work with `oss-monitor demo`."
        )


def verdict_note(result: ProbeResult) -> str:
    """A quality probe's verdict, for the round's note column (the answer is escaped: it is
    the provider's text, not our markup)."""
    from rich.markup import escape

    item = result.quality
    if item is None:
        return ""
    if item.passed:
        return f"{item.task_id}: right"
    return escape(f"{item.task_id}: {item.failure}, expected {item.expected}, got {item.received}")


def summary_line(stats: Sequence[EndpointStats]) -> str:
    from datetime import datetime

    counts: dict[str, int] = {}
    for s in stats:
        label = s.state.value.replace("_", "-")
        counts[label] = counts.get(label, 0) + 1
    states = ", ".join(f"{n} {label}" for label, n in counts.items())
    best = next((s for s in stats if s.rank == 1), None)
    lead = f"best: {best.id} ({best.why})" if best else "no endpoint is usable yet"
    return f"── {datetime.now():%H:%M:%S}  {states} · {lead}"


def _quality(stats: EndpointStats) -> str:
    """Share of right answers: red when significantly below the best endpoint's."""
    if stats.quality is None:
        return "-"
    return f"[red]{stats.quality.short()}[/]" if stats.quality.below else stats.quality.short()


def print_rank(stats: Sequence[Any], window: str) -> None:
    from rich.table import Table

    table = Table(title=f"ranking over {window}", title_justify="left")
    columns = ("#", "endpoint", "state", "uptime", "TTFT p50", "p95", "total p50", "tok/s")
    for name in (*columns, "quality"):
        table.add_column(name, justify="left" if name in ("endpoint", "state") else "right")
    table.add_column("why")
    for s in stats:
        table.add_row(
            str(s.rank or "-"),
            s.id,
            s.state.value.replace("_", "-"),
            s.uptime_text() if s.samples else "-",
            ms(s.ttft_p50_ms),
            ms(s.ttft_p95_ms),
            ms(s.total_p50_ms),
            ms(s.tokens_per_s),
            _quality(s),
            markup(s.why),
            style=None if s.rank else "dim",
        )
    console().print(table)
