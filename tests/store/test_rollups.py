"""Hourly rollups: what survives pruning, and long windows ranked from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind, ProbeKind
from monitor.report import standings
from monitor.store import Store
from monitor.store.rollups import TallyKept
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


def test_tallies_keeping_their_raw_part_answer_as_without(store: Store) -> None:
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    since = top - timedelta(minutes=49, seconds=30)  # a partial minute, 49 whole ones, hours
    store.add(
        [result("a", at=since + timedelta(seconds=10), ttft=100.0),
         result("a", at=top - timedelta(minutes=30), ttft=300.0),
         result("b", ok=False, at=top - timedelta(minutes=5)),
         result("b", at=top, ttft=700.0)]
    )  # fmt: skip
    kept = TallyKept()
    first = store.tallies(since, kept=kept)
    assert first == store.tallies(since)
    assert kept.sums  # the whole minutes up to the hour
    store.add([result("b", at=top, ttft=800.0)])  # news of b only: a's tally is kept
    again = store.tallies(since, kept=kept)
    assert again == store.tallies(since)
    assert again["a"] is first["a"]
    assert again["b"].ok == 2
    # A probe stored late in those minutes is counted (that hour's count changed) ...
    store.add([result("a", at=top - timedelta(minutes=20), ttft=900.0)])
    assert store.tallies(since, kept=kept) == store.tallies(since)
    assert store.tallies(since, kept=kept)["a"].ok == 3
    # ... and the whole minutes are kept, not read again: pruned, they still count.
    store.prune(top - timedelta(minutes=10))
    assert store.tallies(since, kept=kept)["a"].ok == 2  # the partial minute is read afresh
    assert "a" not in store.tallies(since)
