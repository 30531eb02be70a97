"""The tables, the schema version, and the in-place upgrades of stores older versions wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Index, MetaData, Table, inspect, select, text, update
from sqlmodel import Field, SQLModel

from monitor.store.engine import Engines, StoreError, no_store

# 2: rollup_hour.hist; no index on started_at alone (row size).
# 3: rollup_hour without auth_count, ttft_count, ttft_sum, ttft_hist (nothing read them).
# 4: probe.ttfa_ms and probe.clock; the quality table.
SCHEMA_VERSION = 4
QUALITY_TEXT = 500  # characters kept of a quality task's expected and received answer


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
    ttfa_ms: float | None = None  # first answer (content) token, reasoning excluded
    total_ms: float | None = None
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    new_connection: bool | None = None
    rate_limit: str | None = None  # JSON of the rate-limit headers seen, when any
    clock: str | None = Field(default=None, max_length=16)  # where arrival times came from


class RollupHour(SQLModel, table=True):
    __tablename__ = "rollup_hour"
    endpoint_id: str = Field(primary_key=True, max_length=64)
    hour: datetime = Field(primary_key=True)
    prober: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=8)
    ok_count: int = 0
    fail_count: int = 0
    hist: str = ""  # JSON {metric: {bucket: [count, min, max]}} of ok chat probes, HIST_STEP


class QualityVerdict(SQLModel, table=True):
    """One quality probe's verdict, written with the probe it belongs to."""

    __tablename__ = "quality"
    __table_args__ = (Index("ix_quality_endpoint_started", "endpoint_id", "started_at"),)
    probe_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    endpoint_id: str = Field(max_length=64)
    prober: str = Field(default="", max_length=64)
    started_at: datetime
    task_id: str = Field(max_length=64)
    passed: bool
    failure: str | None = Field(default=None, max_length=16)  # wrong, truncated, ...
    expected: str = Field(default="", max_length=QUALITY_TEXT)
    received: str = Field(default="", max_length=QUALITY_TEXT)


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


# The tables as Core objects: every statement is plain Core, executemany where it batches
# (the ORM's unit of work cost more than the SQL).
PROBE: Table = Probe.__table__  # type: ignore[attr-defined]
ROLLUP: Table = RollupHour.__table__  # type: ignore[attr-defined]
QUALITY: Table = QualityVerdict.__table__  # type: ignore[attr-defined]
STATE: Table = EndpointState.__table__  # type: ignore[attr-defined]
PROBER: Table = ProberInfo.__table__  # type: ignore[attr-defined]
META: Table = Meta.__table__  # type: ignore[attr-defined]


def create(engines: Engines) -> None:
    """Create the tables a new store needs, or upgrade an older store in place."""
    with engines.guard(), engines.writer.begin() as conn:
        SQLModel.metadata.create_all(conn)
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
