"""Reads: windows, order, the values kept across runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.store import Store
from tests.helpers import result


def test_batch_insert_and_window(store: Store) -> None:
    now = datetime.now(UTC)
    store.add([result(f"e{i % 5}", at=now - timedelta(minutes=i)) for i in range(200)])
    recent = store.samples(now - timedelta(minutes=59, seconds=30))
    assert len(recent) == 60
    assert [s.started_at for s in recent] == sorted(s.started_at for s in recent)


def test_remembered_values_are_kept_per_prefix(store: Store) -> None:
    store.remember("alert", {"a": "down", "b": "up"})
    store.remember("alert", {"a": "up"})
    store.remember("other", {"a": "x"})
    assert store.remembered("alert") == {"a": "up", "b": "up"}


def test_probers_with_their_regions(store: Store) -> None:
    store.register_prober("eu", "eu-west")
    store.register_prober("eu", "eu-central")  # moved: the newest region counts
    store.add([result("a")], prober="eu")
    store.add([result("a")], prober="us")
    assert store.probers(datetime.now(UTC) - timedelta(hours=1)) == {
        "eu": "eu-central",
        "us": None,
    }
