"""The probe store: SQLModel tables, the engine, and every SQL query the tool makes.

All methods are synchronous and meant to run in a worker thread (`anyio.to_thread`), never on
the event loop. SQLite gets WAL, a busy timeout, and writes that take the write lock up front
(`BEGIN IMMEDIATE`), so several processes (a cron job, a dashboard) share one file safely.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    Table,
    and_,
    bindparam,
    event,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, select

from monitor.core.format import duration, plural
from monitor.core.models import SPARK_POINTS, ErrorKind, ProbeKind, ProbeResult, Sample, Span, Tally

BUDGET_LOCK = 0x055_0B0D6E7  # any fixed number: the advisory lock guarding budget slots
WAL_TRIES = 20  # about 4 s of retries in all
SCHEMA_VERSION = 2  # 2: rollup_hour.hist; no index on started_at alone (row size)
# TTFT histogram bucket upper bounds (ms) kept per hour so percentiles survive pruning.
TTFT_BUCKETS = (100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
# Finer per-hour histograms for ranking long windows: buckets 10% wide, each keeping its count,
# smallest and largest value; ranking spreads the count evenly between them, so percentiles are
# exact for up to two values a bucket and close beyond (finer buckets cost more to merge).
HIST_STEP = math.log(1.10)
HIST_METRICS = {"ttft": "ttft_ms", "total": "total_ms", "speed": "tokens_per_s"}
WHOLE_HOURS_FROM = timedelta(hours=24)  # windows this long are counted in whole hours


class StoreError(Exception):
    """The store cannot be used; the message says what to do."""


class Probe(SQLModel, table=True):
    __tablename__ = "probe"
    # Every hot query names the endpoint; the partial indexes find an endpoint's last failure
    # or tool probe without walking all its rows (literal WHEREs: SQLite matches them as text).
    __table_args__ = (
        Index("ix_probe_endpoint_started", "endpoint_id", "started_at"),
        Index("ix_probe_failed", "endpoint_id", "started_at", sqlite_where=text("ok = 0"),
              postgresql_where=text("ok = false")),
        Index("ix_probe_tools", "endpoint_id", "started_at", sqlite_where=text("kind = 'tools'"),
              postgresql_where=text("kind = 'tools'")),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(max_length=64)
    kind: str = Field(default="chat", max_length=8)
    prober: str = Field(default="", max_length=64)
    started_at: datetime
    ok: bool | None = None  # None while the probe is in flight (a reserved budget slot)
    error: str | None = Field(default=None, max_length=16)
    status: int | None = None
    message: str | None = None
    headers_ms: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    new_connection: bool | None = None
    rate_limit: str | None = None  # JSON of the rate-limit headers seen, when any


class RollupHour(SQLModel, table=True):
    __tablename__ = "rollup_hour"
    endpoint_id: str = Field(primary_key=True, max_length=64)
    hour: datetime = Field(primary_key=True)
    prober: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=8)
    ok_count: int = 0
    fail_count: int = 0
    auth_count: int = 0
    ttft_count: int = 0
    ttft_sum: float = 0.0
    ttft_hist: str = ""  # comma-separated counts per TTFT_BUCKETS (+ one overflow)
    hist: str = ""  # JSON {metric: {bucket: [count, min, max]}} of ok chat probes, HIST_STEP


class EndpointState(SQLModel, table=True):
    __tablename__ = "endpoint_state"
    endpoint_id: str = Field(primary_key=True, max_length=64)
    not_before: datetime | None = None
    consecutive_failures: int = 0
    updated_at: datetime | None = None


class ProberInfo(SQLModel, table=True):
    """Who measures: a prober's label (stored on every probe row) and where it stands."""

    __tablename__ = "prober"
    label: str = Field(primary_key=True, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    last_seen: datetime | None = None


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=128)
    value: str


# The tables as Core objects: the per-probe writes (`reserve`, `finish`) and `add` use plain
# statements and executemany, not ORM objects (the unit of work cost more than the SQL).
_PROBE: Table = Probe.__table__  # type: ignore[attr-defined]
_ROLLUP: Table = RollupHour.__table__  # type: ignore[attr-defined]
_STATE: Table = EndpointState.__table__  # type: ignore[attr-defined]
_COUNT = (
    sa_select(func.count())
    .select_from(_PROBE)
    .where(
        _PROBE.c.endpoint_id == bindparam("endpoint_id"),
        _PROBE.c.started_at >= bindparam("since"),
    )
)
# executemany UPDATEs: the SET clause takes the column-named keys of each parameter dict.
_UPDATE_PROBE = update(_PROBE).where(_PROBE.c.id == bindparam("_id"))
_UPDATE_STATE = update(_STATE).where(_STATE.c.endpoint_id == bindparam("_endpoint_id"))
_UPDATE_ROLLUP = update(_ROLLUP).where(
    _ROLLUP.c.endpoint_id == bindparam("_endpoint_id"),
    _ROLLUP.c.hour == bindparam("_hour"),
    _ROLLUP.c.prober == bindparam("_prober"),
    _ROLLUP.c.kind == bindparam("_kind"),
)


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


def default_db_url() -> str:
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("oss-monitor"))
    return f"sqlite:///{folder / 'probes.db'}"


def as_utc(moment: datetime) -> datetime:
    """Columns take aware datetimes only (SQLModel's UTCDateTime); naive input means UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Store:
    def __init__(self, url: str | None = None):
        self.url = url or os.environ.get("OSS_MONITOR_DB") or default_db_url()
        try:
            parsed = make_url(self.url)
            self.is_sqlite = parsed.get_backend_name() == "sqlite"
            self.is_postgres = parsed.get_backend_name() == "postgresql"
            self.display = parsed.render_as_string(hide_password=True)
            if self.is_sqlite:
                self.path = parsed.database
                self.writer = self._sqlite_engine(immediate=True)
                self.reader = self._sqlite_engine(immediate=False)
            else:
                self.path = None
                self.writer = self.reader = create_engine(self.url, pool_pre_ping=True)
        except ArgumentError:  # not echoed: the URL may hold a password
            raise StoreError(
                "the store URL is not a SQLAlchemy URL; use e.g. --db sqlite:///probes.db"
            ) from None
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the database driver {exc.name} is not installed; pip install it "
                "or use --db sqlite:///probes.db"
            ) from None
        self._create()

    # ------------------------------------------------------------ setup

    def _sqlite_engine(self, immediate: bool) -> Engine:
        # A `file:` URI (read-only and other modes) names its file itself: create nothing.
        if self.path and self.path != ":memory:" and not self.path.startswith("file:"):
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder for the store {self.path} ({exc.strerror}); "
                    "pass --db with a writable location"
                ) from None
        engine = create_engine(self.url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            if immediate:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

        if immediate:

            @event.listens_for(engine, "begin")
            def _begin(conn: Any) -> None:
                # Take the write lock at once, so two writers queue instead of deadlocking.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    def _create(self) -> None:
        try:
            SQLModel.metadata.create_all(self.writer)
            with Session(self.writer) as session:
                row = session.get(Meta, "schema_version")
                if row is not None and int(row.value) > SCHEMA_VERSION:
                    raise StoreError(
                        f"the store {self.display} was written by a newer oss-monitor "
                        f"(schema {row.value}); upgrade oss-monitor or pass another --db"
                    )
                if row is not None and int(row.value) < SCHEMA_VERSION:
                    self._upgrade(session)
                session.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                session.commit()
        except (DatabaseError, OperationalError) as exc:
            raise StoreError(self._explain(exc)) from None

    def _upgrade(self, session: Session) -> None:
        """Schema 1 -> 2. Hours rolled up before have no `hist`: until they leave the window,
        long-window percentiles come from the hours after the upgrade (counts are complete)."""
        connection = session.connection()
        if "hist" not in {c["name"] for c in inspect(connection).get_columns("rollup_hour")}:
            connection.exec_driver_sql(
                "ALTER TABLE rollup_hour ADD COLUMN hist VARCHAR NOT NULL DEFAULT ''"
            )
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_probe_started")

    def _explain(self, exc: Exception) -> str:
        text = str(getattr(exc, "orig", exc)).lower()
        where = self.path or self.display
        if "not a database" in text or "malformed" in text:
            return f"{where} is not a usable SQLite database; move it away or pass another --db"
        if "readonly" in text or "read-only" in text:
            return f"{where} is read-only; make it writable or pass another --db"
        if "disk" in text and "full" in text:
            return f"the disk holding {where} is full; free some space or pass another --db"
        if "unable to open" in text:
            return f"cannot open {where}; check the folder exists and is writable, or pass --db"
        return f"the store {where} failed ({text}); check it or pass another --db"

    def _write(self) -> Session:
        return Session(self.writer, expire_on_commit=False)

    def _read(self) -> Session:
        return Session(self.reader, expire_on_commit=False)

    def close(self) -> None:
        self.writer.dispose()
        self.reader.dispose()

    # ------------------------------------------------------------ writes

    def reserve(self, claims: Sequence[Claim]) -> list[Grant]:
        """Atomically check each claim's budget and take a slot (an in-flight row) for it.

        Counting and inserting happen under one write lock, so two processes can never
        both see room for the last probe of a day's budget. A stored Retry-After
        (`not_before`) refuses the claim too. Core statements, not ORM objects: this runs for
        every probe (batched) and holds the GIL against the event loop.
        """
        if not claims:
            return []
        grants: list[Grant | None] = []
        slots: list[dict[str, Any]] = []  # the rows to insert, in the order of their claims
        with self._guard(), self.writer.begin() as conn:
            if self.is_postgres:
                # SQLite's BEGIN IMMEDIATE has no twin here: a transaction-scoped advisory
                # lock makes every prober on every host take its turn.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BUDGET_LOCK})
            states = _state_rows(conn, {claim.endpoint_id for claim in claims})
            taken: dict[str, list[datetime]] = {}  # slots granted earlier in this batch
            for claim in claims:
                grant, started = self._grant(conn, claim, states.get(claim.endpoint_id), taken)
                grants.append(grant)
                if grant is None:
                    taken.setdefault(claim.endpoint_id, []).append(started)
                    slots.append(
                        {"endpoint_id": claim.endpoint_id, "kind": claim.kind,
                         "prober": claim.prober, "started_at": started}
                    )  # fmt: skip
            ids: list[int] = []
            if slots:  # one INSERT .. RETURNING for the batch, ids in the order of the claims
                returning = insert(_PROBE).returning(_PROBE.c.id, sort_by_parameter_order=True)
                ids = [row[0] for row in conn.execute(returning, slots)]
        failures = {endpoint_id: row[1] for endpoint_id, row in states.items()}
        new_ids = iter(ids)
        return [
            grant
            if grant is not None
            else Grant(next(new_ids), "", failures.get(claim.endpoint_id, 0))
            for claim, grant in zip(claims, grants, strict=True)
        ]

    def _grant(
        self,
        conn: Connection,
        claim: Claim,
        state: tuple[datetime | None, int] | None,
        taken: dict[str, list[datetime]],
    ) -> tuple[Grant | None, datetime]:
        """A refusal, or None when the claim may take a slot (inserted by the caller)."""
        started = as_utc(claim.started_at)
        not_before, failures = state if state else (None, 0)
        if not_before and not_before > started:
            until = as_utc(not_before).strftime("%H:%M:%S UTC")
            return Grant(
                None, f"rate-limited: the provider asked to wait until {until}", failures
            ), started
        for window, limit in claim.limits:
            since = started - timedelta(seconds=window)
            used = self._count(conn, claim.endpoint_id, since)
            used += sum(1 for moment in taken.get(claim.endpoint_id, ()) if moment >= since)
            if used >= limit:
                refused = f"budget: {used} of {plural(limit, 'probe')} in {duration(window)} used"
                return Grant(None, refused, failures), started
        return None, started

    def finish(self, done: Sequence[Finished]) -> list[None]:
        """Fill in the reserved rows with what the probes found; update shared backoff state."""
        if done:
            with self._guard(), self.writer.begin() as conn:
                ids = [f.probe_id for f in done]
                query = sa_select(_PROBE.c.id, _PROBE.c.prober).where(_PROBE.c.id.in_(ids))
                probers: dict[int, str] = {pid: prober for pid, prober in conn.execute(query)}
                states = _state_rows(conn, {f.result.endpoint_id for f in done})
                updates, lost, finished = [], [], []
                changed: dict[str, dict[str, Any]] = {}
                for item in done:
                    values = _columns(item.result)
                    prober = probers.get(item.probe_id)
                    if prober is None:  # a row pruned meanwhile is written anew: keep the sample
                        prober = ""
                        lost.append({**values, "prober": prober})
                    else:
                        updates.append({"_id": item.probe_id, **values})
                    finished.append({**values, "prober": prober})
                    self._update_state(item, states, changed)
                if updates:
                    conn.execute(_UPDATE_PROBE, updates)
                if lost:
                    conn.execute(insert(_PROBE), lost)
                self._write_states(conn, changed)
                self._roll_up(conn, finished)
        return [None] * len(done)

    def _update_state(
        self,
        item: Finished,
        states: dict[str, tuple[datetime | None, int]],
        changed: dict[str, dict[str, Any]],
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
        row["updated_at"] = as_utc(datetime.now(UTC))

    def _write_states(self, conn: Connection, changed: dict[str, dict[str, Any]]) -> None:
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
            conn.execute(insert(_STATE), inserts)

    def add(self, results: Iterable[ProbeResult], prober: str = "") -> int:
        """Insert finished probes in one transaction (imports, benchmarks, tests)."""
        rows = [{**_columns(result), "prober": prober} for result in results]
        with self._guard(), self.writer.begin() as conn:
            if rows:  # one executemany: ORM objects would cost more than the insert itself
                conn.execute(insert(_PROBE), rows)
            self._roll_up(conn, rows)
        return len(rows)

    def _roll_up(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        groups: dict[tuple[str, datetime, str, str], list[dict[str, Any]]] = {}
        for row in rows:
            hour = row["started_at"].replace(minute=0, second=0, microsecond=0)
            groups.setdefault((row["endpoint_id"], hour, row["prober"], row["kind"]), []).append(
                row
            )
        if not groups:
            return
        # One query for the rollups to update, not one per (endpoint, hour).
        query = sa_select(_ROLLUP).where(
            _ROLLUP.c.endpoint_id.in_({key[0] for key in groups}),
            _ROLLUP.c.hour.in_({key[1] for key in groups}),
        )
        existing = {
            (r.endpoint_id, as_utc(r.hour), r.prober, r.kind): r for r in conn.execute(query)
        }
        updates, inserts = [], []
        for key, members in groups.items():
            stored = existing.get(key)
            counts = (
                [int(x) for x in stored.ttft_hist.split(",")] if stored and stored.ttft_hist else []
            )
            counts += [0] * (len(TTFT_BUCKETS) + 1 - len(counts))
            hist: dict[str, dict[str, list[float]]] = (
                json.loads(stored.hist or "{}") if stored else {}
            )
            ok = [row for row in members if row["ok"]]
            auth = sum(1 for row in members if not row["ok"] and row["error"] == ErrorKind.AUTH)
            ttfts = [row["ttft_ms"] for row in ok if row["ttft_ms"] is not None]
            for row in ok:
                _add_to_hist(hist, row)
            for ttft in ttfts:
                counts[_bucket(ttft)] += 1
            values = {
                "ok_count": (stored.ok_count if stored else 0) + len(ok),
                "auth_count": (stored.auth_count if stored else 0) + auth,
                "fail_count": (stored.fail_count if stored else 0) + len(members) - len(ok) - auth,
                "ttft_count": (stored.ttft_count if stored else 0) + len(ttfts),
                "ttft_sum": (stored.ttft_sum if stored else 0.0) + sum(ttfts),
                "ttft_hist": ",".join(map(str, counts)),
                "hist": json.dumps(hist, separators=(",", ":")),
            }
            names = ("endpoint_id", "hour", "prober", "kind")
            if stored is None:
                inserts.append({**dict(zip(names, key, strict=True)), **values})
            else:  # the stored key, as read: the WHERE matches the row whatever its spelling
                keys = (stored.endpoint_id, stored.hour, stored.prober, stored.kind)
                updates.append({**{f"_{n}": k for n, k in zip(names, keys, strict=True)}, **values})
        if updates:
            conn.execute(_UPDATE_ROLLUP, updates)
        if inserts:
            conn.execute(insert(_ROLLUP), inserts)

    def prune(self, before: datetime) -> int:
        """Delete raw probes older than `before`; hourly rollups stay for long windows."""
        with self._write() as session, self._guard():
            cursor = session.exec(delete(Probe).where(col(Probe.started_at) < as_utc(before)))
            session.commit()
            deleted = int(cursor.rowcount or 0)
        if self.is_sqlite:  # give the space back to the file system (outside a transaction)
            with self.reader.connect() as conn, self._guard():
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def older_than(self, before: datetime) -> list[tuple[str, int, datetime]]:
        """What `prune(before)` would delete: per endpoint, the raw probes and the oldest."""
        table = Probe.__table__.c  # type: ignore[attr-defined]
        query = (
            sa_select(table.endpoint_id, func.count(), func.min(table.started_at))
            .where(table.started_at < as_utc(before))
            .group_by(table.endpoint_id)
            .order_by(table.endpoint_id)
        )
        with self._read() as session, self._guard():
            rows = session.connection().execute(query)
            return [(str(e), int(n), as_utc(oldest)) for e, n, oldest in rows]

    # ------------------------------------------------------------ reads

    def _count(self, conn: Connection, endpoint_id: str, since: datetime) -> int:
        return int(conn.execute(_COUNT, {"endpoint_id": endpoint_id, "since": since}).scalar_one())

    def count_since(self, endpoint_id: str, since: datetime) -> int:
        """Probes sent to an endpoint since a moment, by every process (the shared budget)."""
        with self._read() as session, self._guard():
            return self._count(session.connection(), endpoint_id, as_utc(since))

    def samples(
        self,
        since: datetime,
        endpoint_ids: Sequence[str] | None = None,
        prober: str | None = None,
    ) -> list[Sample]:
        """Finished probes since a moment, oldest first, as slim tuples for ranking."""
        table = Probe.__table__.c  # type: ignore[attr-defined]
        query = sa_select(*_sample_columns(table)).where(
            table.started_at >= as_utc(since), table.ok.is_not(None)
        )
        if endpoint_ids is None:
            query = query.where(table.endpoint_id.in_(_endpoints_since(since)))
        else:
            query = query.where(table.endpoint_id.in_(list(endpoint_ids)))
        if prober is not None:
            query = query.where(table.prober == prober)
        query = query.order_by(table.started_at)
        with self._read() as session, self._guard():
            return [_sample(r) for r in session.connection().execute(query)]

    def latest(
        self, since: datetime, endpoint_ids: Sequence[str], prober: str | None = None
    ) -> list[Sample]:
        """The few newest samples per endpoint that decide its state, sparkline, last error and
        tool health in `ranking.compute(..., tallies=...)`, oldest first."""
        table = Probe.__table__.c  # type: ignore[attr-defined]
        columns = [*_sample_columns(table), table.id]
        # The last chat probes, the last chat failure, the last answered tool probe, the last
        # of any kind; literals, not parameters, so that SQLite picks the partial indexes.
        tools = table.kind == literal_column("'tools'")
        newest = [
            (table.kind != ProbeKind.TOOLS, SPARK_POINTS),
            (and_(table.ok == false(), table.kind != ProbeKind.TOOLS), 1),
            (and_(tools, or_(table.ok, table.error == ErrorKind.BAD_RESPONSE)), 1),
            (true(), 1),
        ]
        branches = [
            sa_select(*columns)
            .where(
                table.endpoint_id == bindparam("endpoint_id"),
                table.started_at >= as_utc(since),
                table.ok.is_not(None),
                condition,
                true() if prober is None else table.prober == prober,
            )
            .order_by(table.started_at.desc())
            .limit(limit)
            .subquery()
            .select()
            for condition, limit in newest
        ]
        query = union_all(*branches)  # built once: compiling it per endpoint costs more
        found: dict[int, Sample] = {}
        with self._read() as session, self._guard():
            connection = session.connection()
            for endpoint_id in endpoint_ids:
                for row in connection.execute(query, {"endpoint_id": endpoint_id}):
                    found[row[-1]] = _sample(row)
        return sorted(found.values(), key=lambda s: s.started_at)

    def tallies(self, since: datetime, prober: str | None = None) -> dict[str, Tally]:
        """Counts and latency histograms of chat probes per endpoint since a moment, without
        loading every probe: whole hours come from the rollups, the first partial hour from
        raw rows, except in windows of a day or more, which start at the top of that hour
        instead (up to 1 h more data; reading that hour raw could take longer than the rest).
        Pruned hours still count (their rollups stay)."""
        since = as_utc(since)
        if since == _hour(since) or datetime.now(UTC) - since >= WHOLE_HOURS_FROM:
            first_hour = _hour(since)
        else:
            first_hour = _hour(since) + timedelta(hours=1)
        sums: dict[str, _Sums] = {}
        table = Probe.__table__.c  # type: ignore[attr-defined]
        raw = sa_select(
            table.endpoint_id, table.ok, table.error, table.ttft_ms, table.total_ms,
            table.tokens_per_s,
        ).where(
            table.endpoint_id.in_(_endpoints_since(since)), table.started_at >= since,
            table.started_at < first_hour, table.ok.is_not(None), table.kind != ProbeKind.TOOLS,
        )  # fmt: skip
        hours = select(
            RollupHour.endpoint_id, RollupHour.ok_count, RollupHour.fail_count, RollupHour.hist
        ).where(col(RollupHour.hour) >= first_hour, RollupHour.kind != ProbeKind.TOOLS)
        if prober is not None:
            raw = raw.where(table.prober == prober)
            hours = hours.where(RollupHour.prober == prober)
        with self._read() as session, self._guard():
            for endpoint_id, ok, error, ttft_ms, total_ms, tokens_per_s in session.execute(raw):
                if error == ErrorKind.AUTH:
                    continue
                tally = sums.setdefault(endpoint_id, _Sums())
                if ok:
                    tally.ok += 1
                    values = {
                        "ttft_ms": ttft_ms,
                        "total_ms": total_ms,
                        "tokens_per_s": tokens_per_s,
                    }
                    _add_to_hist(tally.hist, values)
                else:
                    tally.failed += 1
            for endpoint_id, ok_count, fail_count, hist in session.exec(hours):
                tally = sums.setdefault(endpoint_id, _Sums())
                tally.ok += ok_count
                tally.failed += fail_count
                tally.merge(json.loads(hist or "{}"))
        return {endpoint_id: tally.tally() for endpoint_id, tally in sums.items()}

    def traffic(self, since: datetime) -> tuple[int, int]:
        """(answered, failed) upstream attempts the router stored since a moment."""
        query = (
            select(Probe.ok, func.count())
            .where(Probe.kind == ProbeKind.TRAFFIC, col(Probe.started_at) >= as_utc(since))
            .where(col(Probe.ok).is_not(None))
            .group_by(col(Probe.ok))
        )
        with self._read() as session, self._guard():
            counts = {bool(ok): int(n) for ok, n in session.exec(query)}
        return counts.get(True, 0), counts.get(False, 0)

    def probers(self, since: datetime) -> dict[str, str | None]:
        """Every prober that stored something since a moment, with its region if it told us."""
        query = select(RollupHour.prober).where(col(RollupHour.hour) >= _hour(since)).distinct()
        with self._read() as session, self._guard():
            regions = {p.label: p.region for p in session.exec(select(ProberInfo))}
            return {p: regions.get(p) for p in sorted(session.exec(query)) if p}

    def register_prober(self, label: str, region: str | None) -> None:
        """Say where a prober stands, once per run (the label is on every row it writes)."""
        with self._write() as session, self._guard():
            session.merge(ProberInfo(label=label, region=region, last_seen=datetime.now(UTC)))
            session.commit()

    def recent(self, endpoint_id: str, limit: int = 50) -> list[Probe]:
        query = (
            select(Probe)
            .where(Probe.endpoint_id == endpoint_id, col(Probe.ok).is_not(None))
            .order_by(col(Probe.started_at).desc())
            .limit(limit)
        )
        with self._read() as session, self._guard():
            return list(session.exec(query))

    def rollups(self, since: datetime, endpoint_id: str | None = None) -> list[RollupHour]:
        query = select(RollupHour).where(col(RollupHour.hour) >= as_utc(since))
        if endpoint_id is not None:
            query = query.where(RollupHour.endpoint_id == endpoint_id)
        with self._read() as session, self._guard():
            return list(session.exec(query.order_by(col(RollupHour.hour))))

    def states(self) -> dict[str, EndpointState]:
        with self._read() as session, self._guard():
            return {s.endpoint_id: s for s in session.exec(select(EndpointState))}

    def hold_off(self, endpoint_id: str, until: datetime) -> None:
        """Record a Retry-After seen outside a probe (the router's traffic): every process
        sharing the store waits until then before probing the endpoint."""
        with self._write() as session, self._guard():
            state = session.get(EndpointState, endpoint_id) or EndpointState(
                endpoint_id=endpoint_id
            )
            current = as_utc(state.not_before) if state.not_before else None
            state.not_before = max(as_utc(until), current) if current else as_utc(until)
            state.updated_at = datetime.now(UTC)
            session.add(state)
            session.commit()

    def remembered(self, prefix: str) -> dict[str, str]:
        """Small named values kept across runs and hosts (e.g. the last alert per endpoint)."""
        query = select(Meta).where(col(Meta.key).startswith(f"{prefix}:"))
        with self._read() as session, self._guard():
            return {m.key.removeprefix(f"{prefix}:"): m.value for m in session.exec(query)}

    def remember(self, prefix: str, values: Mapping[str, str]) -> None:
        with self._write() as session, self._guard():
            for name, value in values.items():
                session.merge(Meta(key=f"{prefix}:{name}", value=value))
            session.commit()

    def _guard(self) -> _Guard:
        return _Guard(self)


class _Guard:
    """Turn database failures into one clear sentence (StoreError)."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, DatabaseError | OperationalError):
            raise StoreError(self.store._explain(exc)) from None


def _columns(result: ProbeResult) -> dict[str, Any]:
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
        "total_ms": result.total_ms,
        "output_tokens": result.output_tokens,
        "tokens_per_s": result.tokens_per_s,
        "new_connection": result.new_connection,
        "rate_limit": json.dumps(result.rate_limit, sort_keys=True) if result.rate_limit else None,
    }


def _sample_columns(table: Any) -> list[Any]:
    return [
        table.endpoint_id, table.kind, table.started_at, table.ok, table.error, table.status,
        table.message, table.ttft_ms, table.total_ms, table.tokens_per_s,
    ]  # fmt: skip


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
        total_ms=row[8],
        tokens_per_s=row[9],
    )


def _state_rows(conn: Connection, endpoint_ids: set[str]) -> dict[str, tuple[datetime | None, int]]:
    """(not_before, consecutive_failures) of these endpoints in one query."""
    query = sa_select(_STATE.c.endpoint_id, _STATE.c.not_before, _STATE.c.consecutive_failures)
    rows = conn.execute(query.where(_STATE.c.endpoint_id.in_(endpoint_ids)))
    return {endpoint_id: (not_before, failures) for endpoint_id, not_before, failures in rows}


def _endpoints_since(since: datetime) -> Any:
    """Endpoints probed since a moment (every finished probe is rolled up): naming them lets
    the (endpoint_id, started_at) index serve a time range instead of a full scan."""
    return select(RollupHour.endpoint_id).where(col(RollupHour.hour) >= _hour(since)).distinct()


def _hour(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def _add_to_hist(hist: dict[str, dict[str, list[float]]], row: dict[str, Any]) -> None:
    for metric, column in HIST_METRICS.items():
        value = row[column]
        if value is not None:
            key = str(math.floor(math.log(max(value, 1e-3)) / HIST_STEP))
            slot = hist.setdefault(metric, {}).setdefault(key, [0, value, value])
            slot[0] += 1
            slot[1] = min(slot[1], value)
            slot[2] = max(slot[2], value)


@dataclass
class _Sums:
    """A Tally being summed: histogram buckets merged across hours."""

    ok: int = 0
    failed: int = 0
    hist: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def merge(self, hist: dict[str, dict[str, list[float]]]) -> None:
        for metric, buckets in hist.items():
            mine = self.hist.setdefault(metric, {})
            for key, (count, low, high) in buckets.items():
                slot = mine.setdefault(key, [0, low, high])
                slot[0] += count
                slot[1] = min(slot[1], low)
                slot[2] = max(slot[2], high)

    def tally(self) -> Tally:
        spans = {
            metric: [Span(low, high, int(n)) for n, low, high in self.hist.get(metric, {}).values()]
            for metric in HIST_METRICS
        }
        return Tally(self.ok, self.failed, spans["ttft"], spans["total"], spans["speed"])


def _use_wal(cursor: Any) -> None:
    """Switch a SQLite file to WAL (it stays so). Two processes creating the same new file can
    collide here with "database is locked" at once, whatever the busy timeout: retry briefly."""
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    for attempt in range(WAL_TRIES):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.02 * (attempt + 1))  # a worker thread or start-up, never the event loop


def _bucket(ttft_ms: float) -> int:
    for i, bound in enumerate(TTFT_BUCKETS):
        if ttft_ms <= bound:
            return i
    return len(TTFT_BUCKETS)
