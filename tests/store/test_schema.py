"""The schema: versions, refusing newer stores, upgrading older ones in place."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, create_engine, inspect, text

from monitor.core.models import QualityItem
from monitor.store import SCHEMA_VERSION, Finished, Store, StoreError
from monitor.store.rollups import add_to_hist
from monitor.store.rollups import hour as hour_of
from monitor.store.schema import PROBE, ROLLUP, STATE, EndpointState, Probe, RollupHour
from tests.helpers import result
from tests.store.conftest import claim


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer oss-monitor"):
        Store(f"sqlite:///{path}")


# The tables exactly as oss-monitor with schema 2 created them (SQLite spelling; `{ts}`,
# `{serial}` and `{false}` differ on PostgreSQL).
SCHEMA_2 = [
    """CREATE TABLE endpoint_state (endpoint_id VARCHAR(64) NOT NULL, not_before {ts},
    consecutive_failures INTEGER NOT NULL, updated_at {ts}, PRIMARY KEY (endpoint_id))""",
    """CREATE TABLE meta ("key" VARCHAR(128) NOT NULL, value VARCHAR NOT NULL,
    PRIMARY KEY ("key"))""",
    """CREATE TABLE probe (id {serial} NOT NULL, endpoint_id VARCHAR(64) NOT NULL,
    kind VARCHAR(8) NOT NULL, prober VARCHAR(64) NOT NULL, started_at {ts} NOT NULL,
    ok BOOLEAN, error VARCHAR(16), status INTEGER, message VARCHAR, headers_ms FLOAT,
    ttft_ms FLOAT, total_ms FLOAT, output_tokens INTEGER, tokens_per_s FLOAT,
    new_connection BOOLEAN, rate_limit VARCHAR, PRIMARY KEY (id))""",
    """CREATE TABLE prober (label VARCHAR(64) NOT NULL, region VARCHAR(64), last_seen {ts},
    PRIMARY KEY (label))""",
    """CREATE TABLE rollup_hour (endpoint_id VARCHAR(64) NOT NULL, hour {ts} NOT NULL,
    prober VARCHAR(64) NOT NULL, kind VARCHAR(8) NOT NULL, ok_count INTEGER NOT NULL,
    fail_count INTEGER NOT NULL, auth_count INTEGER NOT NULL, ttft_count INTEGER NOT NULL,
    ttft_sum FLOAT NOT NULL, ttft_hist VARCHAR NOT NULL, hist VARCHAR NOT NULL,
    PRIMARY KEY (endpoint_id, hour, prober, kind))""",
    "CREATE INDEX ix_probe_endpoint_started ON probe (endpoint_id, started_at)",
    "CREATE INDEX ix_probe_failed ON probe (endpoint_id, started_at) WHERE ok = {false}",
    "CREATE INDEX ix_probe_tools ON probe (endpoint_id, started_at) WHERE kind = 'tools'",
]


def make_schema_2_store(url: str, at: datetime) -> None:
    """A store as oss-monitor 0.x (schema 2) left it: one ok and one failed probe this hour."""
    postgres = url.startswith("postgresql")
    words = {"ts": "TIMESTAMP WITH TIME ZONE", "serial": "SERIAL", "false": "false"}
    if not postgres:
        words = {"ts": "DATETIME", "serial": "INTEGER", "false": "0"}
    stamp: Any = at if postgres else at.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy writes
    hour: Any = hour_of(at) if postgres else hour_of(at).strftime("%Y-%m-%d %H:%M:%S.%f")
    hist: dict[str, dict[str, list[float]]] = {}
    add_to_hist(hist, {"ttft_ms": 200.0, "ttfa_ms": None, "total_ms": 500.0, "tokens_per_s": 150.0})
    engine = create_engine(url)
    with engine.begin() as conn:
        for ddl in SCHEMA_2:
            conn.exec_driver_sql(ddl.format(**words))
        conn.execute(
            text(
                "INSERT INTO probe (endpoint_id, kind, prober, started_at, ok, error, status, "
                "ttft_ms, total_ms, tokens_per_s) VALUES ('a', 'chat', 'old', :at, :ok, :error, "
                ":status, :ttft, :total, :speed)"
            ),
            [
                {"at": stamp, "ok": True, "error": None, "status": 200, "ttft": 200.0,
                 "total": 500.0, "speed": 150.0},
                {"at": stamp, "ok": False, "error": "server", "status": 500, "ttft": None,
                 "total": 20.0, "speed": None},
            ],
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO rollup_hour VALUES ('a', :hour, 'old', 'chat', 1, 1, 0, 1, 200.0, "
                "'0,1,0,0,0,0,0,0,0,0,0,0,0', :hist)"
            ),
            {"hour": hour, "hist": json.dumps(hist)},
        )
        conn.exec_driver_sql("INSERT INTO meta VALUES ('schema_version', '2')")
    engine.dispose()


def test_schema_2_store_is_upgraded_in_place(db_url: str) -> None:
    at = datetime.now(UTC)
    make_schema_2_store(db_url, at)
    store = Store(db_url)
    assert [s.ok for s in store.samples(at - timedelta(hours=1))] == [True, False]  # kept
    (grant,) = store.reserve([claim()])
    assert grant.probe_id is not None
    store.finish([Finished(grant.probe_id, result("a", at=at, ttft=400.0))])
    store.add([result("a", at=at, ok=False)], prober="old")
    store.add([result("a", at=at, ttfa_ms=700.0, quality=QualityItem(task_id="t", passed=True))])
    tally = store.tallies(hour_of(at))["a"]  # from the rollups alone
    assert (tally.ok, tally.failed) == (3, 2)
    assert sorted((span.low, span.n) for span in tally.ttft) == [(200.0, 2), (400.0, 1)]
    ttfa = [s.ttfa_ms for s in store.samples(at - timedelta(hours=1))]
    assert sorted(ttfa, key=lambda v: v or 0) == [None] * 4 + [700.0]
    assert store.quality_counts(at - timedelta(hours=1)) == {"a": (1, 1)}
    old = [r for r in store.rollups(hour_of(at), "a") if r.prober == "old"]
    assert [(r.ok_count, r.fail_count) for r in old] == [(1, 2)]  # the old hour, added to
    store.close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("rollup_hour")}
        probe_columns = {c["name"] for c in inspect(conn).get_columns("probe")}
        version = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'")
        assert version.scalar() == str(SCHEMA_VERSION)
    engine.dispose()
    assert columns == {"endpoint_id", "hour", "prober", "kind", "ok_count", "fail_count", "hist"}
    assert {"ttfa_ms", "clock"} <= probe_columns


@pytest.mark.parametrize(
    ("row", "table"), [(Probe, PROBE), (RollupHour, ROLLUP), (EndpointState, STATE)]
)
def test_row_types_carry_every_column(row: type, table: Table) -> None:
    assert [f.name for f in fields(row)] == list(table.columns.keys())


def test_importing_the_store_loads_no_orm_and_no_postgresql() -> None:
    """Import cost: the ORM and the PostgreSQL dialect load only when a store needs them."""
    code = "import sys, monitor.store; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("sqlmodel", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql"):
        assert f"'{heavy}'" not in loaded
