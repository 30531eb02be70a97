"""Reads: samples for ranking, each endpoint's newest probes, the detail screen's rows, traffic
counts, probers, backoff states and small remembered values. Functions over a connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from monitor.core.models import (
    SIDE_KINDS,
    SPARK_POINTS,
    ErrorKind,
    Histogram,
    ProbeKind,
    Sample,
    WindowCounts,
)
from monitor.store.engine import as_utc
from monitor.store.rollups import endpoints_since, hour
from monitor.store.schema import (
    META,
    PROBE,
    PROBER,
    ROLLUP,
    STATE,
    EndpointState,
    Probe,
    RollupHour,
)

_SAMPLE_COLUMNS = [
    PROBE.c[name]
    for name in ("endpoint_id", "kind", "started_at", "ok", "error", "status", "message",
                 "ttft_ms", "ttfa_ms", "total_ms", "tokens_per_s")
]  # fmt: skip


def older_than(conn: Connection, before: datetime) -> list[tuple[str, int, datetime]]:
    """What pruning at `before` would delete: per endpoint, the raw probes and the oldest."""
    probe = PROBE.c
    query = (
        select(probe.endpoint_id, func.count(), func.min(probe.started_at))
        .where(probe.started_at < as_utc(before))
        .group_by(probe.endpoint_id)
        .order_by(probe.endpoint_id)
    )
    return [(str(e), int(n), as_utc(oldest)) for e, n, oldest in conn.execute(query)]


def samples(
    conn: Connection,
    since: datetime,
    endpoint_ids: Sequence[str] | None = None,
    prober: str | None = None,
) -> list[Sample]:
    """Finished probes since a moment, oldest first, as slim tuples for ranking."""
    probe = PROBE.c
    query = select(*_SAMPLE_COLUMNS).where(probe.started_at >= as_utc(since), probe.ok.is_not(None))
    if endpoint_ids is None:
        query = query.where(probe.endpoint_id.in_(endpoints_since(since)))
    else:
        query = query.where(probe.endpoint_id.in_(list(endpoint_ids)))
    if prober is not None:
        query = query.where(probe.prober == prober)
    # Ties in time keep the order they were stored in, whatever plan the database picks.
    return [_sample(row) for row in conn.execute(query.order_by(probe.started_at, probe.id))]


def in_a_row(
    conn: Connection, since: datetime, endpoint_ids: Sequence[str], count: int
) -> list[Sample]:
    """Each endpoint's `count` newest chat probes that say something of the provider (a
    missing or refused key does not), oldest first: what alerts count "in a row". Read
    newest first down the endpoint's index, so a day of probes is not read to find three."""
    probe = PROBE.c
    user_side = [ErrorKind.NO_KEY, ErrorKind.AUTH]
    query = (
        select(*_SAMPLE_COLUMNS)
        .where(
            probe.endpoint_id == bindparam("endpoint_id"),
            probe.started_at >= as_utc(since),
            probe.ok.is_not(None),
            probe.kind.not_in(SIDE_KINDS),
            or_(probe.error.is_(None), probe.error.not_in(user_side)),
        )
        .order_by(probe.started_at.desc(), probe.id.desc())
        .limit(count)
    )
    found: list[Sample] = []
    for endpoint_id in endpoint_ids:
        rows = list(conn.execute(query, {"endpoint_id": endpoint_id}))
        found += [_sample(row) for row in reversed(rows)]
    return found


def window_counts(
    conn: Connection,
    since: datetime,
    columns: Sequence[str],
    bounds: Sequence[float],
) -> dict[str | None, WindowCounts]:
    """Every probe since a moment counted by the database, by result, and histograms of ok
    chat probes' `columns` over `bounds`; per prober, and under None over every prober. A day
    of a big fleet is millions of rows, too many to carry into Python on every scrape; and
    one pass for all probers, as each pass over a day of 100 endpoints (a million rows) costs
    SQLite about 1.5 s however little it computes."""
    probe = PROBE.c
    side = probe.kind.in_(SIDE_KINDS).label("side")
    measured = []
    for name in columns:
        column = probe[name]
        at_or_under = [func.sum(case((column <= bound, 1), else_=0)) for bound in bounds]
        measured += [func.count(column), func.sum(column), *at_or_under]
    groups = (probe.prober, probe.endpoint_id, probe.ok, probe.error, side)
    query = select(*groups, func.count(), *measured).where(
        probe.endpoint_id.in_(endpoints_since(since)),  # the index's leading column
        probe.started_at >= as_utc(since),
        probe.ok.is_not(None),
    )
    results: dict[str | None, dict[tuple[str, str], int]] = {None: {}}
    histograms: dict[str | None, dict[str, dict[str, Histogram]]] = {
        None: {name: {} for name in columns}
    }
    for prober, endpoint_id, ok, error, is_side, n, *values in conn.execute(
        query.group_by(*groups)
    ):
        key = (endpoint_id, "ok" if ok else error or "unknown")
        for label in (prober, None):  # this prober's counts, and every prober's
            counts = results.setdefault(label, {})
            counts[key] = counts.get(key, 0) + int(n)
            by_column = histograms.setdefault(label, {name: {} for name in columns})
            if ok and not is_side:
                _add_to(by_column, endpoint_id, columns, values)
    return {label: WindowCounts(results[label], histograms[label]) for label in results}


def _add_to(
    histograms: dict[str, dict[str, Histogram]],
    endpoint_id: str,
    columns: Sequence[str],
    values: Sequence[Any],
) -> None:
    """Add one group's sums to an endpoint's histograms: per column its count, its sum, then
    how many at or under each bound."""
    width = len(values) // len(columns)
    for i, name in enumerate(columns):
        count, total, *under = values[i * width : (i + 1) * width]
        if not count:
            continue
        part = Histogram(tuple(int(u) for u in under), int(count), float(total))
        was = histograms[name].get(endpoint_id)
        if was is not None:
            summed = tuple(a + b for a, b in zip(was.under, part.under, strict=True))
            part = Histogram(summed, was.values + part.values, was.total + part.total)
        histograms[name][endpoint_id] = part


def latest(
    conn: Connection, since: datetime, endpoint_ids: Sequence[str], prober: str | None = None
) -> list[Sample]:
    """The few newest samples per endpoint that decide its state, sparkline, last error and
    tool health in `ranking.compute(..., tallies=...)`, oldest first."""
    probe = PROBE.c
    # The last chat probes, the last chat failure, the last answered tool probe, the last
    # of any kind; literals, not parameters, so that SQLite picks the partial indexes.
    tools = probe.kind == literal_column("'tools'")
    newest = [
        (probe.kind.not_in(SIDE_KINDS), SPARK_POINTS),
        (and_(probe.ok == false(), probe.kind.not_in(SIDE_KINDS)), 1),
        (and_(tools, or_(probe.ok, probe.error == ErrorKind.BAD_RESPONSE)), 1),
        (true(), 1),
    ]
    branches = [
        select(*_SAMPLE_COLUMNS, probe.id)
        .where(
            probe.endpoint_id == bindparam("endpoint_id"),
            probe.started_at >= as_utc(since),
            probe.ok.is_not(None),
            condition,
            true() if prober is None else probe.prober == prober,
        )
        .order_by(probe.started_at.desc())
        .limit(limit)
        .subquery()
        .select()
        for condition, limit in newest
    ]
    query = union_all(*branches)  # built once: compiling it per endpoint costs more
    found: dict[int, Sample] = {}
    for endpoint_id in endpoint_ids:
        for row in conn.execute(query, {"endpoint_id": endpoint_id}):
            found[row[-1]] = _sample(row)
    return sorted(found.values(), key=lambda s: s.started_at)


def traffic(conn: Connection, since: datetime) -> tuple[int, int]:
    """(answered, failed) upstream attempts the router stored since a moment."""
    probe = PROBE.c
    query = (
        select(probe.ok, func.count())
        # A literal, not a parameter, so that SQLite picks the partial index.
        .where(probe.kind == literal_column(f"'{ProbeKind.TRAFFIC.value}'"))
        .where(probe.started_at >= as_utc(since))
        .where(probe.ok.is_not(None))
        .group_by(probe.ok)
    )
    counts = {bool(ok): int(n) for ok, n in conn.execute(query)}
    return counts.get(True, 0), counts.get(False, 0)


def probers(conn: Connection, since: datetime) -> dict[str, str | None]:
    """Every prober that stored something since a moment, with its region if it told us."""
    query = select(ROLLUP.c.prober).where(ROLLUP.c.hour >= hour(since)).distinct()
    regions = {
        label: region for label, region in conn.execute(select(PROBER.c.label, PROBER.c.region))
    }
    return {p: regions.get(p) for p in sorted(conn.execute(query).scalars()) if p}


def recent(conn: Connection, endpoint_id: str, limit: int = 50) -> list[Probe]:
    """An endpoint's newest finished probes, newest first (the detail screen)."""
    probe = PROBE.c
    query = (
        select(PROBE)
        .where(probe.endpoint_id == endpoint_id, probe.ok.is_not(None))
        .order_by(probe.started_at.desc())
        .limit(limit)
    )
    return [Probe(**row._mapping) for row in conn.execute(query)]


def rollups(conn: Connection, since: datetime, endpoint_id: str | None = None) -> list[RollupHour]:
    query = select(ROLLUP).where(ROLLUP.c.hour >= as_utc(since))
    if endpoint_id is not None:
        query = query.where(ROLLUP.c.endpoint_id == endpoint_id)
    return [RollupHour(**row._mapping) for row in conn.execute(query.order_by(ROLLUP.c.hour))]


def states(conn: Connection) -> dict[str, EndpointState]:
    return {row.endpoint_id: EndpointState(**row._mapping) for row in conn.execute(select(STATE))}


def remembered(conn: Connection, prefix: str) -> dict[str, str]:
    """Small named values kept across runs and hosts (e.g. the last alert per endpoint)."""
    query = select(META.c.key, META.c.value).where(META.c.key.startswith(f"{prefix}:"))
    return {key.removeprefix(f"{prefix}:"): value for key, value in conn.execute(query)}


def _sample(row: Sequence[Any]) -> Sample:
    return Sample(
        endpoint_id=row[0],
        kind=row[1],
        started_at=as_utc(row[2]),
        ok=bool(row[3]),
        error=row[4],
        status=row[5],
        message=row[6] or "",
        ttft_ms=row[7],
        ttfa_ms=row[8],
        total_ms=row[9],
        tokens_per_s=row[10],
    )
