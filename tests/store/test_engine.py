"""Engines: WAL, clear errors for files that are not usable stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.store import Store, StoreError
from monitor.store.engine import use_wal
from tests.store.conftest import claim


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


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_two_processes_creating_one_file_retry_the_switch_to_wal() -> None:
    """SQLite answers "database is locked" at once, busy timeout or not, when two processes
    switch a brand-new file to WAL together; the switch is retried instead of failing."""

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
    use_wal(cursor)
    assert cursor.statements.count("PRAGMA journal_mode=WAL") == 4
    with pytest.raises(sqlite3.OperationalError):
        use_wal(Racing(collisions=1000))  # bounded: a lock that never goes away still fails
