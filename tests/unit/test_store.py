"""The store: budget slots shared across processes, rollups that survive pruning, clear errors."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind
from monitor.report import standings
from monitor.store import Claim, Finished, Store, StoreError
from tests.helpers import result

DAY = 86400


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """Every store test runs on SQLite and on PostgreSQL unless it says otherwise."""
    db = Store(db_url)
    yield db
    db.close()


def claim(endpoint_id: str = "a", limits: tuple[tuple[int, int], ...] = ()) -> Claim:
    return Claim(endpoint_id, "chat", "test", datetime.now(UTC), limits)


def test_reserve_then_finish_fills_the_row(store: Store) -> None:
    (grant,) = store.reserve([claim()])
    assert grant.probe_id is not None
    assert store.samples(datetime.now(UTC) - timedelta(minutes=1)) == []  # in flight: not a sample
    store.finish([Finished(grant.probe_id, result("a", ttft=123.0))])
    (sample,) = store.samples(datetime.now(UTC) - timedelta(minutes=1))
    assert sample.ok and sample.ttft_ms == 123.0 and sample.started_at.tzinfo is not None
    (row,) = store.recent("a")
    assert row.prober == "test"


def test_budget_refuses_past_the_limit(store: Store) -> None:
    grants = store.reserve([claim(limits=((DAY, 3),)) for _ in range(5)])
    assert [g.probe_id is not None for g in grants] == [True, True, True, False, False]
    assert grants[3].refused == "budget: 3 of 3 probes in 1d used"
    assert store.count_since("a", datetime.now(UTC) - timedelta(hours=1)) == 3


def test_retry_after_is_shared(store: Store) -> None:
    (grant,) = store.reserve([claim()])
    assert grant.probe_id is not None
    later = datetime.now(UTC) + timedelta(minutes=5)
    limited = result("a", ok=False, error=ErrorKind.RATE_LIMITED)
    store.finish([Finished(grant.probe_id, limited, not_before=later)])
    (refused,) = store.reserve([claim()])
    assert refused.probe_id is None and refused.refused.startswith("rate-limited")
    assert refused.consecutive_failures == 1


def _grab_slots(url: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store(url)
    granted = 0
    for _ in range(count):
        (grant,) = store.reserve([claim("shared", ((DAY, 7),))])
        granted += grant.probe_id is not None
    out.put(granted)


def test_budget_holds_across_processes(db_url: str) -> None:
    url = db_url
    Store(url).close()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_grab_slots, args=(url, 20, out)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sum(out.get(timeout=5) for _ in workers) == 7
    assert Store(url).count_since("shared", datetime.now(UTC) - timedelta(hours=1)) == 7


def test_rollups_survive_pruning(store: Store) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    store.add(
        [result("a", at=old), result("a", at=old, ok=False),
         result("a", at=old, ok=False, error=ErrorKind.AUTH), result("a", at=old, ttft=4000.0)]
    )  # fmt: skip
    assert store.prune(datetime.now(UTC) - timedelta(days=30)) == 4
    assert store.samples(old - timedelta(hours=1)) == []
    (rollup,) = store.rollups(old - timedelta(hours=1), "a")
    assert (rollup.ok_count, rollup.fail_count, rollup.auth_count) == (2, 1, 1)
    assert rollup.ttft_count == 2 and rollup.ttft_sum == 4200.0
    counts = [int(x) for x in rollup.ttft_hist.split(",")]
    assert sum(counts) == 2 and counts[1] == 1  # 200 ms lands in the <=200 bucket


def test_batch_insert_and_window(store: Store) -> None:
    now = datetime.now(UTC)
    store.add([result(f"e{i % 5}", at=now - timedelta(minutes=i)) for i in range(200)])
    recent = store.samples(now - timedelta(minutes=59, seconds=30))
    assert len(recent) == 60
    assert [s.started_at for s in recent] == sorted(s.started_at for s in recent)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is not a usable SQLite database; move it away"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    Store(f"sqlite:///{path}").close()
    # SQLite's own read-only mode: file permissions would not stop root, who runs CI.
    read_only = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StoreError, match="read-only; make it writable or pass another --db"):
        read_only.reserve([claim()])


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer oss-monitor"):
        Store(f"sqlite:///{path}")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_long_windows_keep_uptime_after_pruning(store: Store) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=5)
    store.add([result("a", at=old), result("a", at=old, ok=False), result("a", at=old)])
    store.add([result("a", at=now - timedelta(minutes=m)) for m in range(3)])
    store.prune(now - timedelta(days=1))
    assert len(store.samples(now - timedelta(days=7))) == 3  # the raw rows of 5 days ago are gone
    endpoint = Endpoint(id="a", name="A", base_url="https://a.test/v1", model="m")
    (week,) = standings([endpoint], store, {}, "7d")
    assert (week.ok, week.failed, week.samples) == (5, 1, 6)  # ... their hourly rollup is not
    assert week.uptime == pytest.approx(5 / 6)
    (hour,) = standings([endpoint], store, {}, "1h")
    assert (hour.ok, hour.failed) == (3, 0)


def test_two_processes_creating_one_file_retry_the_switch_to_wal() -> None:
    """SQLite answers "database is locked" at once, busy timeout or not, when two processes
    switch a brand-new file to WAL together; the switch is retried instead of failing."""
    from monitor.store import _use_wal

    class Racing:
        def __init__(self, collisions: int):
            self.collisions = collisions
            self.statements: list[str] = []

        def execute(self, sql: str) -> Racing:
            self.statements.append(sql)
            if sql == "PRAGMA journal_mode=WAL" and self.collisions:
                self.collisions -= 1
                raise sqlite3.OperationalError("database is locked")
            return self

        def fetchone(self) -> tuple[str]:
            return ("delete",)

    cursor = Racing(collisions=3)
    _use_wal(cursor)
    assert cursor.statements.count("PRAGMA journal_mode=WAL") == 4
    with pytest.raises(sqlite3.OperationalError):
        _use_wal(Racing(collisions=1000))  # bounded: a lock that never goes away still fails
