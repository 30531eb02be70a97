"""`Kept`: what a ranking read, kept for the next while it is still true."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from monitor import report
from monitor.core.models import ErrorKind, Sample
from monitor.report import Kept
from monitor.store import Store
from tests.helpers import result

IDS = ["a", "b", "c"]


def test_it_answers_as_the_store_does_and_reads_only_endpoints_with_news(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    read = store.latest

    def latest_of(since: datetime, ids: Sequence[str], prober: str | None = None) -> list[Sample]:
        asked.extend(ids)
        return read(since, ids, prober)

    monkeypatch.setattr(store, "latest", latest_of)
    now = datetime.now(UTC)
    store.add([result(e, at=now - timedelta(minutes=2)) for e in IDS])
    since = now - timedelta(hours=1)
    latest = Kept(store).latest
    assert latest(since, IDS) == read(since, IDS)
    assert sorted(asked) == IDS  # the first time, all

    asked.clear()
    store.add([result("b", ok=False, at=now - timedelta(minutes=1))])
    assert latest(since, IDS) == read(since, IDS)
    assert asked == ["b"]

    asked.clear()
    assert latest(since, IDS) == read(since, IDS)
    assert asked == []  # nothing new


def test_a_refused_key_is_read_when_the_caller_saw_it_land(store: Store) -> None:
    # Refused keys are not counted in the rollups: only the landing tells.
    now = datetime.now(UTC)
    since = now - timedelta(hours=1)
    store.add([result(e, at=now - timedelta(minutes=2)) for e in IDS])
    latest = Kept(store).latest
    latest(since, IDS)
    store.add([result("c", ok=False, error=ErrorKind.AUTH, at=now - timedelta(minutes=1))])
    assert latest(since, IDS, landed={"c"}) == store.latest(since, IDS)
    assert latest(since, IDS)[-1].error == ErrorKind.AUTH


def test_probes_leave_as_the_window_moves_and_a_longer_window_reads_all_again(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    store.add([result("a", at=now - timedelta(minutes=30)), result("b", at=now)])
    latest = Kept(store).latest
    assert len(latest(now - timedelta(hours=1), IDS)) == 2
    short = now - timedelta(minutes=15)
    assert latest(short, IDS) == store.latest(short, IDS)
    assert len(latest(short, IDS)) == 1
    long = now - timedelta(hours=2)
    assert latest(long, IDS) == store.latest(long, IDS)


def test_everything_is_read_again_now_and_then(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What no count shows (another process's refused key, a prune) shows within a while."""
    now = datetime.now(UTC)
    since = now - timedelta(hours=1)
    store.add([result(e, at=now - timedelta(minutes=2)) for e in IDS])
    latest = Kept(store).latest
    latest(since, IDS)
    store.add([result("a", ok=False, error=ErrorKind.AUTH, at=now - timedelta(minutes=1))])
    assert latest(since, IDS) != store.latest(since, IDS)
    monkeypatch.setattr(report, "FULL_READ_S", 0.0)
    assert latest(since, IDS) == store.latest(since, IDS)
