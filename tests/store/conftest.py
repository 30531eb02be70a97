"""Store fixtures: every store test runs on SQLite and on PostgreSQL unless it says otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.store import Claim, Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    db = Store(db_url)
    yield db
    db.close()


def claim(endpoint_id: str = "a", limits: tuple[tuple[int, int], ...] = ()) -> Claim:
    return Claim(endpoint_id, "chat", "test", datetime.now(UTC), limits)
