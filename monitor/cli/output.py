"""What commands print: tables that fit the terminal, numbers formatted one way, JSON Lines.

Every `--json` object is one line with `schema` (the format's version) and `record` (what it
describes), and every documented field present, null when unknown: a cron `>> log` stays
parseable line by line, and a reader can rely on the keys (README, "JSON output").
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor.cli.tables import Column, fitted
from monitor.core import format as fmt
from monitor.core.format import markup

if TYPE_CHECKING:
    from rich.console import Console

    from monitor.core.models import EndpointStats, ProbeResult
    from monitor.scheduler import Outcome

SCHEMA = 1
PER: dict[str | int, str] = {
    "rpm": "min",
    "rph": "h",
    "rpd": "day",
    60: "min",
    3600: "h",
    86400: "day",
}
PROBE_FIELDS = (
    "started_at", "status", "error", "message", "headers_ms", "ttft_ms", "ttfa_ms", "total_ms",
    "tokens_per_s", "output_tokens", "new_connection", "retry_after_s", "clock", "quality",
)  # fmt: skip
ROUND_COLUMNS = (
    Column("endpoint"),
    Column("result"),
    Column("TTFT ms", 1, "right"),
    Column("kind", 4),
    Column("total ms", 2, "right"),
    Column("tok/s", 3, "right"),
    Column("status", 5, "right"),
    Column("tokens", 6, "right"),
    Column("note", text=True),
)
RANK_COLUMNS = (
    Column("#", 0, "right"),
    Column("endpoint"),
    Column("state"),
    Column("uptime", 1, "right"),
    Column("TTFT p50", 1, "right"),
    Column("answer", 3, "right"),  # first answer token, p50: drops early on narrow terminals
    Column("tok/s", 2, "right"),
    Column("p95", 3, "right"),
    Column("total p50", 4, "right"),
    Column("quality", 2, "right"),
    Column("why", text=True),
)


def console(width: int | None = None) -> Console:
    from rich.console import Console

    # Piped into a log (cron): do not squeeze tables into 80 columns unless COLUMNS says so.
    if width is None and not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        width = 200
    return Console(highlight=False, width=width)


def json_line(record: str, fields: dict[str, Any]) -> str:
    return json.dumps({"schema": SCHEMA, "record": record, **fields}, separators=(", ", ": "))


def outcome_json(outcome: Outcome) -> str:
    """One probe (or skipped probe) as a `probe` record."""
    result = outcome.result
    data: dict[str, Any] = dict.fromkeys(PROBE_FIELDS)
    if result is None:
        data.update(error="no_key" if outcome.no_key else None, message=outcome.skipped)
    else:
        dumped = result.model_dump(mode="json")
        data.update({name: dumped[name] for name in PROBE_FIELDS})
    return json_line(
        "probe",
        {
            "id": outcome.endpoint_id,
            "kind": outcome.kind.value,
            "ok": bool(result and result.ok),
            "skipped": outcome.skipped or None,
            **data,
        },
    )


def stats_json(
    stats: EndpointStats, window: str, prober: str | None = None, region: str | None = None
) -> str:
    """One endpoint's standing as an `endpoint` record."""
    return json_line("endpoint", {"window": window, "prober": prober, "region": region,
                                  **stats.as_json()})  # fmt: skip


def result_label(outcome: Outcome) -> str:
    if outcome.result is None:
        return "no key" if outcome.no_key else "skipped"
    return "ok" if outcome.result.ok else str(outcome.result.error)


def outcome_line(outcome: Outcome) -> str:
    """One probe as a plain log line (markup for colour)."""
    r = outcome.result
    if r is None:
        return f"[dim]{result_label(outcome)} {outcome.endpoint_id}: {markup(outcome.skipped)}[/]"
    stamp = f"{r.started_at:%H:%M:%S}"
    if r.ok:
        return (
            f"{stamp} [green]ok[/] {r.endpoint_id} {r.kind.value}: TTFT {fmt.ms(r.ttft_ms)}, "
            f"total {fmt.ms(r.total_ms)}, {fmt.number(r.tokens_per_s)} tok/s"
            + (f"; {verdict}" if (verdict := verdict_note(r)) else "")
        )
    return f"{stamp} [red]{r.error}[/] {r.endpoint_id} {r.kind.value}: {markup(r.message)}"


def round_table(outcomes: Sequence[Outcome], width: int, title: str = "probe round") -> Any:
    rows: list[list[str]] = []
    for o in outcomes:
        r = o.result
        label = result_label(o)
        if r is None:
            rows.append([o.endpoint_id, f"[dim]{label}[/]", "", o.kind.value, "", "", "", "",
                         markup(o.skipped)])  # fmt: skip
            continue
        style = "green" if r.ok else "red"
        rows.append(
            [
                r.endpoint_id, f"[{style}]{label}[/]", fmt.number(r.ttft_ms), r.kind.value,
                fmt.number(r.total_ms), fmt.number(r.tokens_per_s), str(r.status or "-"),
                fmt.number(r.output_tokens), markup(r.message) or verdict_note(r),
            ]
        )  # fmt: skip
    return fitted(title, ROUND_COLUMNS, rows, width)


def round_summary(outcomes: Sequence[Outcome], of: int | None = None) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        label = result_label(o)
        label = label if label in ("ok", "no key", "skipped") else "failed"
        counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(f"{n:,} {label}" for label, n in counts.items())
    done = fmt.plural(len(outcomes), "probe")
    lead = f"{done} of {of:,} finished before the interrupt" if of is not None else done
    return f"{lead}: {parts}" if parts else lead


def round_hints(outcomes: Sequence[Outcome]) -> list[str]:
    """What to do when nothing answered because of keys: missing, or all refused."""
    results = [o.result for o in outcomes if o.result is not None]
    if any(r.ok for r in results):
        return []
    if results and all(r.error == "auth" for r in results):
        ids = ", ".join(sorted({r.endpoint_id for r in results}))
        return [
            f"Every key was refused (HTTP 401/403 from {ids}): check that each variable "
            "`oss-monitor providers` names holds a current key for that provider, without "
            "quotes or spaces around it, and that the account is active."
        ]
    if any(o.no_key for o in outcomes):
        return [
            "No endpoint answered and keys are missing: set one of the variables named above "
            "(`oss-monitor providers` lists them all), or see it work with `oss-monitor demo`."
        ]
    return []


def verdict_note(result: ProbeResult) -> str:
    """A quality probe's verdict, for the round's note column (the answer is escaped: it is
    the provider's text, not our markup)."""
    item = result.quality
    if item is None:
        return ""
    if item.passed:
        return f"{item.task_id}: right"
    return markup(f"{item.task_id}: {item.failure}, expected {item.expected}, got {item.received}")


def summary_line(stats: Sequence[EndpointStats]) -> str:
    from datetime import datetime

    counts: dict[str, int] = {}
    for s in stats:
        label = fmt.state(s.state)
        counts[label] = counts.get(label, 0) + 1
    states = ", ".join(f"{n:,} {label}" for label, n in counts.items())
    best = next((s for s in stats if s.rank == 1), None)
    lead = f"best: {best.id} ({best.why})" if best else "no endpoint is usable yet"
    return f"── {datetime.now():%H:%M:%S}  {states} · {lead}"


def _quality(stats: EndpointStats) -> str:
    """Share of right answers: red when significantly below the best endpoint's."""
    if stats.quality is None:
        return "-"
    return f"[red]{stats.quality.short()}[/]" if stats.quality.below else stats.quality.short()


def rank_table(stats: Sequence[EndpointStats], window: str, width: int) -> Any:
    rows = [
        [
            str(s.rank or "-"), s.id, fmt.state(s.state), s.uptime_text() if s.samples else "-",
            fmt.number(s.ttft_p50_ms), fmt.number(s.ttfa_p50_ms), fmt.number(s.tokens_per_s),
            fmt.number(s.ttft_p95_ms),
            fmt.number(s.total_p50_ms), _quality(s), markup(s.why),
        ]
        for s in stats
    ]  # fmt: skip
    styles = [None if s.rank else "dim" for s in stats]
    return fitted(f"ranking over {window}", RANK_COLUMNS, rows, width, styles)


def print_rank(stats: Sequence[EndpointStats], window: str, screen: Console | None = None) -> None:
    screen = screen or console()
    screen.print(rank_table(stats, window, screen.width))
