"""The shared probe budget: reserving a slot (an in-flight probe row) under one write lock,
filling it in when the probe finishes, and each endpoint's backoff state (Retry-After,
consecutive failures) that every process sharing the store obeys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from monitor.core.format import duration, plural
from monitor.core.models import ProbeResult
from monitor.store import quality
from monitor.store.engine import as_utc
from monitor.store.rollups import roll_up
from monitor.store.schema import PROBE, STATE

BUDGET_LOCK = 0x055_0B0D6E7  # any fixed number: the advisory lock guarding budget slots

_COUNT = (
    select(func.count())
    .select_from(PROBE)
    .where(
        PROBE.c.endpoint_id == bindparam("endpoint_id"),
        PROBE.c.started_at >= bindparam("since"),
    )
)
# executemany UPDATEs: the SET clause takes the column-named keys of each parameter dict.
_UPDATE_PROBE = update(PROBE).where(PROBE.c.id == bindparam("_id"))
_UPDATE_STATE = update(STATE).where(STATE.c.endpoint_id == bindparam("_endpoint_id"))

StateRow = tuple[datetime | None, int]  # (not_before, consecutive_failures)


@dataclass(frozen=True)
class Claim:
    """A request for one probe slot, granted only while every limit has room."""

    endpoint_id: str
    kind: str
    prober: str
    started_at: datetime
    limits: tuple[tuple[int, int], ...] = ()  # (window seconds, max probes in that window)


@dataclass(frozen=True)
class Grant:
    """The answer to a claim: a probe row id, or why not (budget, Retry-After)."""

    probe_id: int | None
    refused: str = ""
    consecutive_failures: int = 0


@dataclass(frozen=True)
class Finished:
    probe_id: int
    result: ProbeResult
    not_before: datetime | None = None  # set after a 429: nobody probes before then


def count(conn: Connection, endpoint_id: str, since: datetime) -> int:
    """Probes sent to an endpoint since a moment, by every process (the shared budget)."""
    return int(conn.execute(_COUNT, {"endpoint_id": endpoint_id, "since": since}).scalar_one())


def reserve(conn: Connection, claims: Sequence[Claim], is_postgres: bool) -> list[Grant]:
    """Atomically check each claim's budget and take a slot (an in-flight row) for it.

    The caller holds the write transaction, so two processes can never both see room for the
    last probe of a day's budget. A stored Retry-After (`not_before`) refuses the claim too.
    """
    if not claims:
        return []
    if is_postgres:
        # SQLite's BEGIN IMMEDIATE has no twin here: a transaction-scoped advisory lock makes
        # every prober on every host take its turn.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BUDGET_LOCK})
    states = state_rows(conn, {claim.endpoint_id for claim in claims})
    grants: list[Grant | None] = []
    slots: list[dict[str, Any]] = []  # the rows to insert, in the order of their claims
    taken: dict[str, list[datetime]] = {}  # slots granted earlier in this batch
    for claim in claims:
        started = as_utc(claim.started_at)
        grant = _grant(conn, claim, started, states.get(claim.endpoint_id), taken)
        grants.append(grant)
        if grant is None:
            taken.setdefault(claim.endpoint_id, []).append(started)
            slots.append(
                {"endpoint_id": claim.endpoint_id, "kind": claim.kind, "prober": claim.prober,
                 "started_at": started}
            )  # fmt: skip
    ids: list[int] = []
    if slots:  # one INSERT .. RETURNING for the batch, ids in the order of the claims
        returning = insert(PROBE).returning(PROBE.c.id, sort_by_parameter_order=True)
        ids = [row[0] for row in conn.execute(returning, slots)]
    new_ids = iter(ids)
    return [
        grant
        if grant is not None
        else Grant(next(new_ids), "", states.get(claim.endpoint_id, (None, 0))[1])
        for claim, grant in zip(claims, grants, strict=True)
    ]


def _grant(
    conn: Connection,
    claim: Claim,
    started: datetime,
    state: StateRow | None,
    taken: dict[str, list[datetime]],
) -> Grant | None:
    """A refusal, or None when the claim may take a slot (inserted by the caller)."""
    not_before, failures = state if state else (None, 0)
    if not_before and not_before > started:
        until = as_utc(not_before).strftime("%H:%M:%S UTC")
        return Grant(None, f"rate-limited: the provider asked to wait until {until}", failures)
    for window, limit in claim.limits:
        since = started - timedelta(seconds=window)
        used = count(conn, claim.endpoint_id, since)
        used += sum(1 for moment in taken.get(claim.endpoint_id, ()) if moment >= since)
        if used >= limit:
            used_up = f"{used} of {plural(limit, 'probe')} in {duration(window)} used"
            return Grant(None, f"budget: {used_up}", failures)
    return None


def finish(conn: Connection, done: Sequence[Finished]) -> None:
    """Fill in the reserved rows with what the probes found (and their quality verdicts);
    update the shared backoff state."""
    if not done:
        return
    query = select(PROBE.c.id, PROBE.c.prober).where(PROBE.c.id.in_([f.probe_id for f in done]))
    probers: dict[int, str] = {pid: prober for pid, prober in conn.execute(query)}
    states = state_rows(conn, {f.result.endpoint_id for f in done})
    updates, lost, finished, kept = [], [], [], []
    changed: dict[str, dict[str, Any]] = {}
    for item in done:
        values = probe_columns(item.result)
        prober = probers.get(item.probe_id)
        if prober is None:  # a row pruned meanwhile is written anew: keep the sample
            prober = ""
            lost.append(item.result)
        else:
            updates.append({"_id": item.probe_id, **values})
            kept.append((item.probe_id, prober, item.result))
        finished.append({**values, "prober": prober})
        _fold_state(item, states, changed)
    if updates:
        conn.execute(_UPDATE_PROBE, updates)
    if lost:
        kept += insert_probes(conn, lost, "")
    quality.write(conn, kept)
    _write_states(conn, changed)
    roll_up(conn, finished)


def add(conn: Connection, results: Sequence[ProbeResult], prober: str) -> None:
    """Insert finished probes that took no slot (imports, the router's traffic, tests)."""
    if results:
        quality.write(conn, insert_probes(conn, results, prober))
        roll_up(conn, [{**probe_columns(result), "prober": prober} for result in results])


def insert_probes(
    conn: Connection, results: Sequence[ProbeResult], prober: str
) -> list[tuple[int, str, ProbeResult]]:
    """Insert finished probes with one executemany (ORM objects would cost more than the
    insert itself); their ids are read back only when a quality verdict needs one."""
    rows = [{**probe_columns(result), "prober": prober} for result in results]
    if not any(result.quality for result in results):
        conn.execute(insert(PROBE), rows)
        return []
    returning = insert(PROBE).returning(PROBE.c.id, sort_by_parameter_order=True)
    ids = [row[0] for row in conn.execute(returning, rows)]
    return [(probe_id, prober, result) for probe_id, result in zip(ids, results, strict=True)]


def _fold_state(
    item: Finished, states: dict[str, StateRow], changed: dict[str, dict[str, Any]]
) -> None:
    """Fold one finished probe into its endpoint's backoff state (written once a batch)."""
    endpoint_id = item.result.endpoint_id
    row = changed.get(endpoint_id)
    if row is None:
        stored = states.get(endpoint_id)
        row = changed[endpoint_id] = {
            "_endpoint_id": endpoint_id,
            "not_before": stored[0] if stored else None,
            "consecutive_failures": stored[1] if stored else 0,
            "new": stored is None,
        }
    row["consecutive_failures"] = 0 if item.result.ok else row["consecutive_failures"] + 1
    if item.not_before is not None:
        row["not_before"] = as_utc(item.not_before)
    row["updated_at"] = datetime.now(UTC)


def _write_states(conn: Connection, changed: dict[str, dict[str, Any]]) -> None:
    updates, inserts = [], []
    for row in changed.values():
        values = {k: v for k, v in row.items() if k != "new"}
        if row["new"]:
            values["endpoint_id"] = values.pop("_endpoint_id")
            inserts.append(values)
        else:
            updates.append(values)
    if updates:
        conn.execute(_UPDATE_STATE, updates)
    if inserts:
        conn.execute(insert(STATE), inserts)


def hold_off(conn: Connection, endpoint_id: str, until: datetime) -> None:
    """Record a Retry-After seen outside a probe (the router's traffic): every process sharing
    the store waits until then before probing the endpoint."""
    until, now = as_utc(until), datetime.now(UTC)
    stored = state_rows(conn, {endpoint_id}).get(endpoint_id)
    if stored is None:
        row = {"endpoint_id": endpoint_id, "consecutive_failures": 0}
        conn.execute(insert(STATE), {**row, "not_before": until, "updated_at": now})
        return
    if stored[0] is not None:
        until = max(until, as_utc(stored[0]))
    conn.execute(
        _UPDATE_STATE, {"_endpoint_id": endpoint_id, "not_before": until, "updated_at": now}
    )


def state_rows(conn: Connection, endpoint_ids: set[str]) -> dict[str, StateRow]:
    """(not_before, consecutive_failures) of these endpoints in one query."""
    query = select(STATE.c.endpoint_id, STATE.c.not_before, STATE.c.consecutive_failures)
    rows = conn.execute(query.where(STATE.c.endpoint_id.in_(endpoint_ids)))
    return {endpoint_id: (not_before, failures) for endpoint_id, not_before, failures in rows}


def probe_columns(result: ProbeResult) -> dict[str, Any]:
    """A finished probe as `probe` column values (all but id and prober)."""
    return {
        "endpoint_id": result.endpoint_id,
        "kind": result.kind.value,
        "started_at": as_utc(result.started_at),
        "ok": result.ok,
        "error": result.error.value if result.error else None,
        "status": result.status,
        "message": result.message or None,
        "headers_ms": result.headers_ms,
        "ttft_ms": result.ttft_ms,
        "ttfa_ms": result.ttfa_ms,
        "total_ms": result.total_ms,
        "output_tokens": result.output_tokens,
        "tokens_per_s": result.tokens_per_s,
        "new_connection": result.new_connection,
        "rate_limit": json.dumps(result.rate_limit, sort_keys=True) if result.rate_limit else None,
        "clock": result.clock.value if result.clock else None,
    }
