"""Quality verdicts: one row per quality probe (its task, pass or fail, the expected and the
received answer), written with the probe itself, and what ranking and the detail screen read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, case, false, func, insert, select

from monitor.core.models import ProbeResult
from monitor.store.engine import as_utc
from monitor.store.schema import QUALITY, QUALITY_TEXT


class QualityFailure(NamedTuple):
    """A failed quality item, as the detail screen shows it."""

    started_at: datetime
    prober: str
    task_id: str
    failure: str | None
    expected: str
    received: str


def write(conn: Connection, probes: Iterable[tuple[int, str, ProbeResult]]) -> None:
    """Store the verdicts of these (probe id, prober, result), those that carry one."""
    rows = [
        {
            "probe_id": probe_id,
            "endpoint_id": result.endpoint_id,
            "prober": prober,
            "started_at": as_utc(result.started_at),
            "task_id": _clip(item.task_id, 64),
            "passed": item.passed,
            "failure": _clip(item.failure, 16) if item.failure else None,
            "expected": _clip(item.expected, QUALITY_TEXT),
            "received": _clip(item.received, QUALITY_TEXT),
        }
        for probe_id, prober, result in probes
        if (item := result.quality) is not None
    ]
    if rows:
        conn.execute(insert(QUALITY), rows)


def counts(
    conn: Connection, since: datetime, prober: str | None = None
) -> dict[str, tuple[int, int]]:
    """(passed, total) quality items per endpoint since a moment."""
    query = (
        select(
            QUALITY.c.endpoint_id,
            func.sum(case((QUALITY.c.passed, 1), else_=0)),
            func.count(),
        )
        .where(QUALITY.c.started_at >= as_utc(since))
        .group_by(QUALITY.c.endpoint_id)
    )
    if prober is not None:
        query = query.where(QUALITY.c.prober == prober)
    return {
        endpoint_id: (int(passed), int(total)) for endpoint_id, passed, total in conn.execute(query)
    }


def failures(conn: Connection, endpoint_id: str, limit: int = 10) -> list[QualityFailure]:
    """An endpoint's newest failed quality items, newest first."""
    q = QUALITY.c
    query = (
        select(q.started_at, q.prober, q.task_id, q.failure, q.expected, q.received)
        .where(q.endpoint_id == endpoint_id, q.passed == false())
        .order_by(q.started_at.desc())
        .limit(limit)
    )
    return [
        QualityFailure(as_utc(at), prober, task, failure, expected, received)
        for at, prober, task, failure, expected, received in conn.execute(query)
    ]


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters that any database can store (a lone surrogate cannot)."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")
