"""Reads: windows, order, the values kept across runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.core.models import Clock
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


def test_first_answer_token_and_clock_are_kept(store: Store) -> None:
    store.add([result("a", ttft=200.0, ttfa_ms=900.0, clock=Clock.KERNEL), result("b")])
    by_id = {s.endpoint_id: s for s in store.samples(datetime.now(UTC) - timedelta(minutes=1))}
    assert (by_id["a"].ttft_ms, by_id["a"].ttfa_ms) == (200.0, 900.0)
    assert by_id["b"].ttfa_ms is None
    assert [r.clock for r in store.recent("a")] == ["kernel"]
    (rollup,) = store.rollups(datetime.now(UTC) - timedelta(hours=1), "a")
    assert list(json.loads(rollup.hist)["ttfa"].values()) == [[1, 900.0, 900.0]]
