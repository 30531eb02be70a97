"""Hourly rollups: counts and latency histograms per (endpoint, hour, prober, kind), updated
with every stored probe and kept when raw probes are pruned, so long windows rank fast."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update

from monitor.core.models import SIDE_KINDS, ErrorKind, Span, Tally
from monitor.store.engine import as_utc
from monitor.store.schema import PROBE, ROLLUP

# Per-hour histograms for ranking long windows: buckets 10% wide, each keeping its count,
# smallest and largest value; ranking spreads the count evenly between them, so percentiles are
# exact for up to two values a bucket and close beyond (finer buckets cost more to merge).
HIST_STEP = math.log(1.10)
HIST_METRICS = {"ttft": "ttft_ms", "ttfa": "ttfa_ms", "total": "total_ms", "speed": "tokens_per_s"}
WHOLE_HOURS_FROM = timedelta(hours=24)  # windows this long are counted in whole hours

Hist = dict[str, dict[str, list[float]]]  # {metric: {bucket: [count, min, max]}}

_KEY = ("endpoint_id", "hour", "prober", "kind")
_UPDATE_ROLLUP = update(ROLLUP).where(*(ROLLUP.c[name] == bindparam(f"_{name}") for name in _KEY))


def hour(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def endpoints_since(since: datetime) -> Select[Any]:
    """Endpoints probed since a moment (every finished probe is rolled up): naming them lets
    the (endpoint_id, started_at) index serve a time range instead of a full scan."""
    return select(ROLLUP.c.endpoint_id).where(ROLLUP.c.hour >= hour(since)).distinct()


def roll_up(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add finished probes (as `probe` column values) to their hours' rollups."""
    groups: dict[tuple[str, datetime, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["endpoint_id"], hour(row["started_at"]), row["prober"], row["kind"])
        groups.setdefault(key, []).append(row)
    if not groups:
        return
    # One query for the rollups to update, not one per (endpoint, hour).
    query = select(ROLLUP).where(
        ROLLUP.c.endpoint_id.in_({key[0] for key in groups}),
        ROLLUP.c.hour.in_({key[1] for key in groups}),
    )
    existing = {(r.endpoint_id, as_utc(r.hour), r.prober, r.kind): r for r in conn.execute(query)}
    updates, inserts = [], []
    for key, members in groups.items():
        stored = existing.get(key)
        hist: Hist = json.loads(stored.hist or "{}") if stored else {}
        ok = [row for row in members if row["ok"]]
        for row in ok:
            add_to_hist(hist, row)
        # Refused keys say nothing of the endpoint: they count neither way (as in `tallies`).
        failed = sum(1 for row in members if not row["ok"] and row["error"] != ErrorKind.AUTH)
        values = {
            "ok_count": (stored.ok_count if stored else 0) + len(ok),
            "fail_count": (stored.fail_count if stored else 0) + failed,
            "hist": json.dumps(hist, separators=(",", ":")),
        }
        if stored is None:
            inserts.append({**dict(zip(_KEY, key, strict=True)), **values})
        else:  # the stored key, as read: the WHERE matches the row whatever its spelling
            keys = (stored.endpoint_id, stored.hour, stored.prober, stored.kind)
            updates.append({**{f"_{n}": k for n, k in zip(_KEY, keys, strict=True)}, **values})
    if updates:
        conn.execute(_UPDATE_ROLLUP, updates)
    if inserts:
        conn.execute(insert(ROLLUP), inserts)


@dataclass
class TallyKept:
    """For a caller that asks `tallies` every second (the dashboard). The raw part of the
    window from its second whole minute to its first whole hour is summed once and kept
    while neither moves nor the count of that hour's probes changes (a late or imported
    probe): each ask reads under a minute of raw probes, not up to an hour of them. And each
    endpoint's Tally is kept while what it was made of is unchanged."""

    key: tuple[object, ...] = ()  # the kept raw part's first minute, prober, hour's count
    sums: dict[str, _Sums] = field(default_factory=dict)
    tallies: dict[str, tuple[object, Tally]] = field(default_factory=dict)


def tallies(
    conn: Connection, since: datetime, prober: str | None = None, kept: TallyKept | None = None
) -> dict[str, Tally]:
    """Counts and latency histograms of chat probes per endpoint since a moment, without
    loading every probe: whole hours come from the rollups, the first partial hour from
    raw rows, except in windows of a day or more, which start at the top of that hour
    instead (up to 1 h more data; reading that hour raw could take longer than the rest).
    Pruned hours still count (their rollups stay). `kept` keeps what did not change."""
    since = as_utc(since)
    if since == hour(since) or datetime.now(UTC) - since >= WHOLE_HOURS_FROM:
        first_hour = hour(since)
    else:
        first_hour = hour(since) + timedelta(hours=1)
    minute = min(since.replace(second=0, microsecond=0) + timedelta(minutes=1), first_hour)
    keep = kept is not None and minute < first_hour
    if kept is not None and keep:
        key = (minute, prober, _probes_in_hour(conn, first_hour - timedelta(hours=1), prober))
        if kept.key != key:
            part = {e: _sum(rows) for e, rows in _raw(conn, minute, first_hour, prober).items()}
            kept.key, kept.sums, kept.tallies = key, part, {}
    raw = _raw(conn, since, minute if keep else first_hour, prober)
    hours: dict[str, list[Any]] = {}
    query = select(ROLLUP.c.endpoint_id, ROLLUP.c.ok_count, ROLLUP.c.fail_count, ROLLUP.c.hist)
    query = query.where(ROLLUP.c.hour >= first_hour, ROLLUP.c.kind.not_in(SIDE_KINDS))
    if prober is not None:
        query = query.where(ROLLUP.c.prober == prober)
    for row in conn.execute(query):
        hours.setdefault(row.endpoint_id, []).append(row)
    found: dict[str, Tally] = {}
    for endpoint_id in {*raw, *hours, *(kept.sums if kept and keep else ())}:
        made_of = (keep, tuple(raw.get(endpoint_id, ())), tuple(hours.get(endpoint_id, ())))
        if kept is not None and endpoint_id in kept.tallies:
            was_made_of, tally = kept.tallies[endpoint_id]
            if was_made_of == made_of:
                found[endpoint_id] = tally
                continue
        sums = _sum(raw.get(endpoint_id, ()))
        if kept is not None and keep and endpoint_id in kept.sums:
            sums.add(kept.sums[endpoint_id])
        for _, ok_count, fail_count, hist in hours.get(endpoint_id, ()):
            sums.add(_Sums(ok_count, fail_count, json.loads(hist or "{}")))
        found[endpoint_id] = sums.tally()
        if kept is not None:
            kept.tallies[endpoint_id] = (made_of, found[endpoint_id])
    return found


def _raw(
    conn: Connection, since: datetime, until: datetime, prober: str | None
) -> dict[str, list[Any]]:
    """Rows of the chat probes from `since` to `until`, per endpoint."""
    rows: dict[str, list[Any]] = {}
    if since >= until:
        return rows
    probe = PROBE.c
    raw = select(
        probe.endpoint_id, probe.ok, probe.error, *(probe[c] for c in HIST_METRICS.values())
    ).where(
        probe.endpoint_id.in_(endpoints_since(since)), probe.started_at >= since,
        probe.started_at < until, probe.ok.is_not(None), probe.kind.not_in(SIDE_KINDS),
    )  # fmt: skip
    if prober is not None:
        raw = raw.where(probe.prober == prober)
    for row in conn.execute(raw):
        rows.setdefault(row.endpoint_id, []).append(row)
    return rows


def _sum(rows: Iterable[Any]) -> _Sums:
    """An endpoint's probes (rows of `_raw`) summed."""
    sums = _Sums()
    for row in rows:
        if row.error == ErrorKind.AUTH:
            continue
        if row.ok:
            sums.ok += 1
            add_to_hist(sums.hist, row._mapping)
        else:
            sums.failed += 1
    return sums


def _probes_in_hour(conn: Connection, start: datetime, prober: str | None) -> int:
    """Probes of every endpoint rolled up in the hour from `start`: grows with each one stored."""
    query = select(func.sum(ROLLUP.c.ok_count + ROLLUP.c.fail_count)).where(
        ROLLUP.c.hour >= start, ROLLUP.c.hour < start + timedelta(hours=1)
    )
    if prober is not None:
        query = query.where(ROLLUP.c.prober == prober)
    return int(conn.execute(query).scalar() or 0)


def counts(conn: Connection, since: datetime, prober: str | None = None) -> dict[str, int]:
    """Probes of every kind counted per endpoint in the hours since a moment: they only grow,
    as each stored probe is rolled up in its transaction (a refused key counts neither way)."""
    total = func.sum(ROLLUP.c.ok_count + ROLLUP.c.fail_count)
    query = select(ROLLUP.c.endpoint_id, total).where(ROLLUP.c.hour >= hour(since))
    if prober is not None:
        query = query.where(ROLLUP.c.prober == prober)
    query = query.group_by(ROLLUP.c.endpoint_id)
    return {endpoint_id: int(n) for endpoint_id, n in conn.execute(query)}


def add_to_hist(hist: Hist, row: Any) -> None:
    """Count one ok probe's latencies (a mapping of `probe` columns) into a histogram."""
    for metric, column in HIST_METRICS.items():
        value = row[column]
        if value is not None:
            key = str(math.floor(math.log(max(value, 1e-3)) / HIST_STEP))
            _add_to_slot(hist.setdefault(metric, {}), key, 1, value, value)


def _add_to_slot(
    buckets: dict[str, list[float]], key: str, n: float, low: float, high: float
) -> None:
    """Count `n` values from `low` to `high` into one bucket."""
    slot = buckets.setdefault(key, [0, low, high])
    slot[0] += n
    slot[1] = min(slot[1], low)
    slot[2] = max(slot[2], high)


@dataclass
class _Sums:
    """A Tally being summed: histogram buckets merged across hours."""

    ok: int = 0
    failed: int = 0
    hist: Hist = field(default_factory=dict)

    def add(self, other: _Sums) -> None:
        self.ok += other.ok
        self.failed += other.failed
        for metric, buckets in other.hist.items():
            mine = self.hist.setdefault(metric, {})
            for key, (count, low, high) in buckets.items():
                _add_to_slot(mine, key, count, low, high)

    def tally(self) -> Tally:
        # Each histogram fills the Tally field of its name, when Tally has one; sorted, so the
        # same probes give the same Tally whatever order the database returned them in.
        spans = {
            metric: sorted(
                Span(low, high, int(n)) for n, low, high in self.hist.get(metric, {}).values()
            )
            for metric in HIST_METRICS
            if metric in Tally._fields
        }
        return Tally(ok=self.ok, failed=self.failed, **spans)
