"""The schema: versions, refusing newer stores, upgrading older ones in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.store import Store, StoreError


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer oss-monitor"):
        Store(f"sqlite:///{path}")
