"""The tables, the schema version, and the in-place upgrades of stores older versions wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    inspect,
    select,
    update,
)

from monitor.store.engine import Engines, StoreError, as_utc, no_store

# 2: rollup_hour.hist; no index on started_at alone (row size).
# 3: rollup_hour without auth_count, ttft_count, ttft_sum, ttft_hist (nothing read them).
# 4: probe.ttfa_ms and probe.clock; the quality table.
SCHEMA_VERSION = 4
QUALITY_TEXT = 500  # characters kept of a quality task's expected and received answer


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no offset: its text is UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


METADATA = MetaData()

PROBE = Table(
    "probe",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("endpoint_id", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("prober", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ok", Boolean),  # NULL while the probe is in flight (a reserved budget slot)
    Column("error", String(16)),
    Column("status", Integer),
    Column("message", String),
    Column("headers_ms", Float),
    Column("ttft_ms", Float),
    Column("ttfa_ms", Float),  # first answer (content) token, reasoning excluded
    Column("total_ms", Float),
    Column("output_tokens", Integer),
    Column("tokens_per_s", Float),
    Column("new_connection", Boolean),
    Column("rate_limit", String),  # JSON of the rate-limit headers seen, when any
    Column("clock", String(16)),  # where arrival times came from (core.models.Clock)
    # Every hot query names the endpoint (and the partial indexes below).
    Index("ix_probe_endpoint_started", "endpoint_id", "started_at"),
)
# An endpoint's last failure or tool probe, and the router's traffic, found without walking
# every row. Created as text in `create` (spelled per database; SQLite matches their WHERE as
# text), on every open: a store made before an index existed gets it then.
PARTIAL_INDEXES = {
    "ix_probe_failed": "ok = {false}",
    "ix_probe_tools": "kind = 'tools'",
    "ix_probe_traffic": "kind = 'traffic'",  # the router's samples, counted every second
}

ROLLUP = Table(
    "rollup_hour",
    METADATA,
    Column("endpoint_id", String(64), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("prober", String(64), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("ok_count", Integer, nullable=False),
    Column("fail_count", Integer, nullable=False),
    # JSON {metric: {bucket: [count, min, max]}} of ok chat probes (rollups.HIST_STEP)
    Column("hist", String, nullable=False),
)

QUALITY = Table(  # one quality probe's verdict, written with the probe it belongs to
    "quality",
    METADATA,
    Column("probe_id", Integer, primary_key=True, autoincrement=False),
    Column("endpoint_id", String(64), nullable=False),
    Column("prober", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("task_id", String(64), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("failure", String(16)),  # wrong, truncated, unparsable, refused, tool_args, ...
    Column("expected", String(QUALITY_TEXT), nullable=False),
    Column("received", String(QUALITY_TEXT), nullable=False),
    Index("ix_quality_endpoint_started", "endpoint_id", "started_at"),
)

STATE = Table(
    "endpoint_state",
    METADATA,
    Column("endpoint_id", String(64), primary_key=True),
    Column("not_before", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False),
    Column("updated_at", UTCDateTime),
)

PROBER = Table(  # who measures: a prober's label (on every probe row) and where it stands
    "prober",
    METADATA,
    Column("label", String(64), primary_key=True),
    Column("region", String(64)),
    Column("last_seen", UTCDateTime),
)

META = Table(
    "meta",
    METADATA,
    Column("key", String(128), primary_key=True),
    Column("value", String, nullable=False),
)


@dataclass(frozen=True)
class Probe:
    """A stored probe, as the detail screen shows it (the columns of `probe`)."""

    id: int
    endpoint_id: str
    kind: str
    prober: str
    started_at: datetime
    ok: bool | None
    error: str | None
    status: int | None
    message: str | None
    headers_ms: float | None
    ttft_ms: float | None
    ttfa_ms: float | None
    total_ms: float | None
    output_tokens: int | None
    tokens_per_s: float | None
    new_connection: bool | None
    rate_limit: str | None
    clock: str | None


@dataclass(frozen=True)
class RollupHour:
    """One hour of one endpoint, prober and kind (the columns of `rollup_hour`)."""

    endpoint_id: str
    hour: datetime
    prober: str
    kind: str
    ok_count: int
    fail_count: int
    hist: str


@dataclass(frozen=True)
class EndpointState:
    """An endpoint's shared backoff state (the columns of `endpoint_state`)."""

    endpoint_id: str
    not_before: datetime | None
    consecutive_failures: int
    updated_at: datetime | None


def create(engines: Engines) -> None:
    """Create the tables a new store needs, or upgrade an older store in place."""
    with engines.guard(), engines.writer.begin() as conn:
        METADATA.create_all(conn)
        if conn.dialect.name in ("sqlite", "postgresql"):
            false = "0" if conn.dialect.name == "sqlite" else "false"
            for name, where in PARTIAL_INDEXES.items():
                conn.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS {name} ON probe (endpoint_id, started_at) "
                    f"WHERE {where.format(false=false)}"
                )
        version = stored_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise _newer(engines, version)
        if version is not None and version < SCHEMA_VERSION:
            _upgrade(conn)
        if version != SCHEMA_VERSION:
            upsert(conn, META, {"key": "schema_version"}, {"value": str(SCHEMA_VERSION)})


def check(engines: Engines) -> None:
    """A reader's check, writing nothing: the store exists and has this version's shape."""
    with engines.guard(), engines.reader.connect() as conn:
        version = stored_version(conn) if inspect(conn).has_table(META.name) else None
    if version is None:
        raise no_store(engines.where())
    if version > SCHEMA_VERSION:
        raise _newer(engines, version)
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"the store {engines.where()} was written by an older oss-monitor "
            f"(schema {version}); run `oss-monitor probe --once` once to upgrade it"
        )


def stored_version(conn: Connection) -> int | None:
    value = conn.execute(select(META.c.value).where(META.c.key == "schema_version")).scalar()
    return None if value is None else int(value)


def _newer(engines: Engines, version: int) -> StoreError:
    return StoreError(
        f"the store {engines.display} was written by a newer oss-monitor "
        f"(schema {version}); upgrade oss-monitor or pass another --db"
    )


def _upgrade(conn: Connection) -> None:
    """Bring an older store to this version. From 1: hours rolled up before have no `hist`:
    until they leave the window, long-window percentiles come from the hours after the
    upgrade (counts are complete). From 2: the rollup counters nothing read are dropped.
    From 3: probes gain columns, empty on the rows stored before. New tables exist already."""
    columns = {c["name"] for c in inspect(conn).get_columns(ROLLUP.name)}
    if "hist" not in columns:
        conn.exec_driver_sql("ALTER TABLE rollup_hour ADD COLUMN hist VARCHAR NOT NULL DEFAULT ''")
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_probe_started")
    if columns - set(ROLLUP.columns.keys()):
        _rebuild(conn, ROLLUP)
    probe_columns = {c["name"] for c in inspect(conn).get_columns(PROBE.name)}
    for name in ("ttfa_ms", "clock"):
        if name not in probe_columns:
            kind = PROBE.c[name].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE probe ADD COLUMN {name} {kind}")


def _rebuild(conn: Connection, table: Table) -> None:
    """Give a table exactly the columns it has now, keeping its rows: the portable way (SQLite
    before 3.35 has no DROP COLUMN, and the dropped columns are NOT NULL without a default)."""
    names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.columns)
    new = table.to_metadata(MetaData(), name=f"{table.name}_new")
    new.create(conn)
    conn.exec_driver_sql(f"INSERT INTO {new.name} ({names}) SELECT {names} FROM {table.name}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {new.name} RENAME TO {table.name}")


def upsert(conn: Connection, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Update the row with this key, or insert it (inside the caller's write transaction)."""
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(update(table).where(*where).values(values)).rowcount == 0:
        conn.execute(table.insert().values({**key, **values}))
