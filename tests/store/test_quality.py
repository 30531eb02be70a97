"""Quality verdicts: written with their probe, counted per endpoint, failures kept bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.models import ProbeKind, ProbeResult, QualityItem
from monitor.store import Finished, Store
from monitor.store.schema import QUALITY_TEXT
from tests.helpers import result
from tests.store.conftest import claim


def verdict(task: str, passed: bool, **extra: str) -> QualityItem:
    failure = None if passed else "wrong"
    return QualityItem(task_id=task, passed=passed, failure=failure, **extra)


def quality(endpoint_id: str, item: QualityItem, minutes_ago: float = 0) -> ProbeResult:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return result(endpoint_id, at=at, kind=ProbeKind.QUALITY, quality=item)


def test_finish_writes_the_verdict_with_its_probe(store: Store) -> None:
    ids = [g.probe_id or 0 for g in store.reserve([claim("a"), claim("a"), claim("b"), claim()])]
    items = [verdict("sum-1", True), verdict("json-2", False), verdict("sum-1", True)]
    store.finish(
        [*(Finished(i, quality(e, item)) for i, e, item in zip(ids, "aab", items, strict=False)),
         Finished(ids[3], result("a"))]  # a chat probe: no verdict
    )  # fmt: skip
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert store.quality_counts(since) == {"a": (1, 2), "b": (1, 1)}
    assert store.quality_counts(since, prober="test") == {"a": (1, 2), "b": (1, 1)}
    assert store.quality_counts(since, prober="elsewhere") == {}
    (failed,) = store.quality_failures("a")
    assert (failed.task_id, failed.failure, failed.prober) == ("json-2", "wrong", "test")


def test_added_probes_keep_their_verdicts_and_the_window_counts(store: Store) -> None:
    store.add(
        [quality("a", verdict("old", False), minutes_ago=90),
         quality("a", verdict("t1", True), minutes_ago=10),
         quality("a", verdict("t2", False), minutes_ago=5), result("a")],
        prober="eu",
    )  # fmt: skip
    assert store.quality_counts(datetime.now(UTC) - timedelta(hours=1)) == {"a": (1, 2)}
    assert store.quality_counts(datetime.now(UTC) - timedelta(hours=2), "eu") == {"a": (1, 3)}
    assert [f.task_id for f in store.quality_failures("a")] == ["t2", "old"]  # newest first
    assert [f.task_id for f in store.quality_failures("a", limit=1)] == ["t2"]


def test_a_verdict_whose_probe_row_was_pruned_is_kept(store: Store) -> None:
    (grant,) = store.reserve([claim()])
    assert grant.probe_id is not None
    store.prune(datetime.now(UTC) + timedelta(seconds=1))
    store.finish([Finished(grant.probe_id, quality("a", verdict("t", False)))])
    assert store.quality_counts(datetime.now(UTC) - timedelta(minutes=1)) == {"a": (0, 1)}


def test_answers_are_bounded_and_storable(store: Store) -> None:
    huge = "9" * 100_000
    store.add([quality("a", verdict("t", False, expected="42", received=huge + "\ud800"))])
    (failed,) = store.quality_failures("a")
    assert failed.received == "9" * QUALITY_TEXT and failed.expected == "42"
    store.add([quality("a", verdict("t", False, received="x\ud800y"))])  # a lone surrogate
    assert store.quality_failures("a")[0].received == "x?y"


def test_prune_removes_old_verdicts(store: Store) -> None:
    store.add(
        [quality("a", verdict("t", False), minutes_ago=120), quality("a", verdict("t", True))]
    )
    store.prune(datetime.now(UTC) - timedelta(hours=1))
    assert store.quality_counts(datetime.now(UTC) - timedelta(days=1)) == {"a": (1, 1)}
    assert store.quality_failures("a") == []
