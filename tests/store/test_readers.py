"""Readers (rank, dashboard --no-probe, metrics) never write, never wait for a writer, and
never create a store; a store is named by a URL or by a plain path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from monitor.catalog import Endpoint
from monitor.report import standings
from monitor.store import Store, StoreError
from tests.helpers import result
from tests.store.test_schema import make_schema_2_store

HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)
ENDPOINT = Endpoint(id="a", name="A", base_url="https://a.test/v1", model="m")


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Path]:
    """A store with probes in it, every connection closed (no -wal or -shm file left)."""
    path = tmp_path / "probes.db"
    writer = Store(str(path))
    writer.add([result("a"), result("a", ok=False)])
    writer.close()
    yield path


def test_a_missing_store_is_not_created_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "probes.db"
    with pytest.raises(StoreError, match=r"^no store at .*probes.db; run `oss-monitor probe"):
        Store(str(path), create=False)
    with pytest.raises(StoreError, match="no store at"):
        Store(f"sqlite:///{path}", create=False)
    assert not (tmp_path / "no").exists()


def test_an_empty_file_is_no_store(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    with pytest.raises(StoreError, match="no store at"):
        Store(str(tmp_path / "empty.db"), create=False)
    assert files(tmp_path) == {"empty.db": b""}


def test_a_reader_writes_nothing(filled: Path) -> None:
    before = files(filled.parent)
    statements: list[str] = []
    reader = Store(str(filled), create=False)
    event.listen(reader.reader, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert [s.ok for s in reader.samples(HOUR_AGO)] == [True, False]
    (stats,) = standings([ENDPOINT], reader, {}, "1h")
    assert (stats.ok, stats.failed) == (1, 1)
    reader.close()
    assert all(s.lstrip().upper().startswith(("SELECT", "WITH", "PRAGMA")) for s in statements)
    after = files(filled.parent)
    assert after["probes.db"] == before["probes.db"]
    assert after.get("probes.db-wal", b"") == b""  # (-shm: SQLite's index of the WAL for readers)
    with pytest.raises(RuntimeError, match="opened for reading only"):
        Store(str(filled), create=False).add([result("a")])


def test_a_reader_does_not_wait_for_a_writer(filled: Path) -> None:
    writer = Store(str(filled))
    with writer.writer.begin() as conn:  # the write lock, held (BEGIN IMMEDIATE)
        conn.exec_driver_sql("DELETE FROM probe")
        reader = Store(str(filled), create=False)  # a write here would wait 30 s, then fail
        assert len(reader.samples(HOUR_AGO)) == 2  # the last committed state
        reader.close()
    writer.close()


def test_an_older_store_is_not_upgraded_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_schema_2_store(f"sqlite:///{path}", datetime.now(UTC))
    before = files(tmp_path)
    with pytest.raises(StoreError, match=r"older oss-monitor \(schema 2\); run `oss-monitor probe"):
        Store(str(path), create=False)
    assert files(tmp_path) == before


def test_a_newer_store_is_refused_by_a_reader(filled: Path) -> None:
    with sqlite3.connect(filled) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer oss-monitor"):
        Store(str(filled), create=False)


@pytest.mark.parametrize("name", ["probes.db", "we ird#x?y%z.db"])
def test_a_plain_path_names_the_same_store_as_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Store(name).add([result("a")])
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".db"] == [name]
    reader = Store(name, create=False)
    assert len(reader.samples(HOUR_AGO)) == 1
    assert len(Store(str(tmp_path / name), create=False).samples(HOUR_AGO)) == 1
    if name == "probes.db":
        assert reader.display == "sqlite:///probes.db"
        assert len(Store("sqlite:///probes.db", create=False).samples(HOUR_AGO)) == 1


def test_postgresql_readers_write_nothing(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="no store at"):
        Store(postgres_url, create=False)  # an empty database
    Store(postgres_url).add([result("a")])
    reader = Store(postgres_url, create=False)
    assert len(reader.samples(HOUR_AGO)) == 1
    with (
        pytest.raises(StoreError, match="read-only"),
        reader.engines.guard(),
        reader.reader.begin() as conn,
    ):
        conn.exec_driver_sql("DELETE FROM probe")
    reader.close()
