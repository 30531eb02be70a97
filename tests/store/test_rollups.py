"""Hourly rollups: what survives pruning, and long windows ranked from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind, ProbeKind
from monitor.report import standings
from monitor.store import Store
from tests.helpers import result


def test_rollups_survive_pruning(store: Store) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    store.add(
        [result("a", at=old), result("a", at=old, ok=False),
         result("a", at=old, ok=False, error=ErrorKind.AUTH), result("a", at=old, ttft=4000.0)]
    )  # fmt: skip
    assert store.prune(datetime.now(UTC) - timedelta(days=30)) == 4
    assert store.samples(old - timedelta(hours=1)) == []
    (rollup,) = store.rollups(old - timedelta(hours=1), "a")
    assert (rollup.ok_count, rollup.fail_count) == (2, 1)  # a refused key counts neither way
    (tally,) = store.tallies(old - timedelta(minutes=1)).values()
    assert (tally.ok, tally.failed) == (2, 1)
    assert sorted((span.low, span.n) for span in tally.ttft) == [(200.0, 1), (4000.0, 1)]


def test_older_than_says_what_pruning_would_delete(store: Store) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    store.add([result("b", at=old), result("a", at=old), result("a", at=old - timedelta(days=1))])
    store.add([result("a", at=now)])
    cut = now - timedelta(days=30)
    assert store.older_than(cut) == [("a", 2, old - timedelta(days=1)), ("b", 1, old)]
    assert store.prune(cut) == 3
    assert store.older_than(cut) == []


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


def test_counts_grow_with_every_kind_of_probe_stored(store: Store) -> None:
    now = datetime.now(UTC)
    since = now - timedelta(hours=1)
    store.add([result("a", at=now), result("b", at=now - timedelta(hours=3))], prober="eu")
    assert store.counts(since) == {"a": 1}  # b's hour is before the window's
    store.add([result("a", ok=False), result("a", kind=ProbeKind.TOOLS)], prober="us")
    assert store.counts(since) == {"a": 3}
    assert store.counts(since, prober="eu") == {"a": 1}
