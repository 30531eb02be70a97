"""The shared budget: slots reserved under one write lock, across processes; shared backoff."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

from monitor.core.models import ErrorKind
from monitor.store import Finished, Store
from tests.helpers import result
from tests.store.conftest import claim

DAY = 86400


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


def test_hold_off_keeps_the_later_moment(store: Store) -> None:
    soon, later = (datetime.now(UTC) + timedelta(minutes=m) for m in (1, 5))
    store.hold_off("a", later)
    store.hold_off("a", soon)  # an earlier Retry-After does not shorten the wait
    assert store.states()["a"].not_before == later
    (refused,) = store.reserve([claim()])
    assert refused.probe_id is None and refused.refused.startswith("rate-limited")


def test_a_pruned_slot_is_written_anew(store: Store) -> None:
    (grant,) = store.reserve([claim()])
    assert grant.probe_id is not None
    store.prune(datetime.now(UTC) + timedelta(seconds=1))  # the in-flight row goes too
    store.finish([Finished(grant.probe_id, result("a"))])
    assert [s.ok for s in store.samples(datetime.now(UTC) - timedelta(minutes=1))] == [True]


def _grab_slots(url: str, count: int, out: multiprocessing.Queue) -> None:
    store = Store(url)
    granted = 0
    for _ in range(count):
        (grant,) = store.reserve([claim("shared", ((DAY, 7),))])
        granted += grant.probe_id is not None
    out.put(granted)


def test_budget_holds_across_processes(db_url: str) -> None:
    Store(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_grab_slots, args=(db_url, 20, out)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sum(out.get(timeout=5) for _ in workers) == 7
    assert Store(db_url).count_since("shared", datetime.now(UTC) - timedelta(hours=1)) == 7
