"""Engines: where the store is, how SQLite is set up (WAL, pragmas, write locks), and turning
database failures into one sentence the user can act on."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from monitor.core.errors import MonitorError

WAL_TRIES = 20  # about 4 s of retries in all


class StoreError(MonitorError):
    """The store cannot be used; the message says what to do."""


def default_db_url() -> str:
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("oss-monitor"))
    return f"sqlite:///{folder / 'probes.db'}"


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; naive input means UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class Engines:
    """One store's engines: SQLite writes through its own engine (BEGIN IMMEDIATE), reads
    through another; other databases use one engine for both."""

    url: str
    display: str  # the URL without its password
    path: str | None  # the SQLite file, as the URL names it
    is_sqlite: bool
    is_postgres: bool
    writer: Engine
    reader: Engine

    def where(self) -> str:
        return self.path or self.display

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn database failures into one clear sentence (StoreError)."""
        try:
            yield
        except (DatabaseError, OperationalError) as exc:
            raise StoreError(explain(exc, self.where())) from None

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


def store_url(location: str) -> str:
    """A SQLAlchemy URL as given, or a plain file path as the SQLite URL that names it."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", location):
        return location
    return f"sqlite:///{quote(str(Path(location).expanduser()))}"  # make_url unquotes it


def open_engines(url: str, create: bool = True) -> Engines:
    """Engines for the store at `url`. Without `create` (readers), nothing is created or
    switched: a SQLite file must exist and is opened read-only, a PostgreSQL session is
    read-only, so a reader never writes and never queues behind a writer."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()  # an unknown driver is a bad URL, whether or not the file exists
        backend = parsed.get_backend_name()
        display = parsed.render_as_string(hide_password=True)
        if backend == "sqlite":
            path = parsed.database
            if not create:
                engine = _sqlite_engine(url, writer=False, wal=False, read_only=path)
                return Engines(url, display, path, True, False, engine, engine)
            _make_folder(path)
            writer = _sqlite_engine(url, writer=True, wal=True)
            reader = _sqlite_engine(url, writer=False, wal=True)
            return Engines(url, display, path, True, False, writer, reader)
        engine = create_engine(url, pool_pre_ping=True)
        if backend == "postgresql" and not create:
            event.listen(engine, "connect", _read_only_session)
        return Engines(url, display, None, False, backend == "postgresql", engine, engine)
    except ArgumentError:  # not echoed: the URL may hold a password
        raise StoreError(
            "the store URL is not a SQLAlchemy URL; use e.g. --db sqlite:///probes.db"
        ) from None
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the database driver {exc.name} is not installed; pip install it "
            "or use --db sqlite:///probes.db"
        ) from None


def no_store(where: str) -> StoreError:
    return StoreError(f"no store at {where}; run `oss-monitor probe --once` first (or pass --db)")


def _is_file(path: str | None) -> bool:
    """A path SQLite opens as a file of its own (not memory, not a `file:` URI that says
    itself how to open it)."""
    return bool(path) and path != ":memory:" and not str(path).startswith("file:")


def _make_folder(path: str | None) -> None:
    if _is_file(path):
        try:
            Path(str(path)).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the store {path} ({exc.strerror}); "
                "pass --db with a writable location"
            ) from None


def _sqlite_engine(url: str, writer: bool, wal: bool, read_only: str | None = None) -> Engine:
    """An engine for a SQLite file; with `read_only`, that file opened in SQLite's read-only
    mode, which must exist (SQLite would create it) and which nothing can write through."""
    options: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if _is_file(read_only):
        path = Path(str(read_only)).absolute()
        if not path.is_file():
            raise no_store(str(read_only))
        uri = f"file:{quote(str(path))}?mode=ro"  # quoted: `?`, `#` and `%` are legal in paths
        options["creator"] = lambda: sqlite3.connect(
            uri, uri=True, timeout=30, check_same_thread=False
        )
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        if wal:
            use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if writer:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

    if writer:

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Take the write lock at once, so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _read_only_session(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cursor.close()
    dbapi_connection.commit()


def use_wal(cursor: Any) -> None:
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


def explain(exc: Exception, where: str) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "not a database" in text or "malformed" in text:
        return f"{where} is not a usable SQLite database; move it away or pass another --db"
    if "readonly" in text or "read-only" in text:
        return f"{where} is read-only; make it writable or pass another --db"
    if "disk" in text and "full" in text:
        return f"the disk holding {where} is full; free some space or pass another --db"
    if "unable to open" in text:
        return f"cannot open {where}; check the folder exists and is writable, or pass --db"
    return f"the store {where} failed ({text}); check it or pass another --db"
