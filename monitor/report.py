"""The standings: what the store says about every endpoint over a window, best first.

The one path from the store to the ranking (store -> ranking), shared by the CLI, the
dashboard, export, the router, alerts and metrics. It reads counts and latency histograms
(`Store.tallies`) and each endpoint's newest probes (`Store.latest`), never every probe, so a
week of a hundred endpoints ranks in milliseconds. Blocking: call it in a thread from async code.
A caller that ranks again and again (the dashboard) passes a `Kept`: what it read last time
and is still true, so that each ranking reads little.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime

from monitor.catalog import Endpoint, resolve
from monitor.core.models import EndpointStats, Sample, Tally, parse_window
from monitor.ranking import StatsKept, compute
from monitor.store import Store
from monitor.store.engine import as_utc
from monitor.store.rollups import TallyKept

FULL_READ_S = 10.0  # `Kept` reads every endpoint's newest probes again this often (see there)


def standings(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    window: str,
    prober: str | None = None,
    now: datetime | None = None,
    kept: Kept | None = None,
    landed: Collection[str] = (),
) -> list[EndpointStats]:
    """Stats per endpoint, best first; `prober` keeps only what that prober measured.
    With `kept`, `landed` names the endpoints the caller saw a probe of land since it last
    asked."""
    since = (now or datetime.now(UTC)) - parse_window(window)
    missing = {e.id: resolve(e, env).missing for e in endpoints}
    ids = [e.id for e in endpoints]
    latest: list[Sample]
    tallies: dict[str, Tally]
    if kept is None:
        latest, tallies = store.latest(since, ids, prober), store.tallies(since, prober)
    else:
        latest, tallies = kept.latest(since, ids, prober, landed), kept.tallies(since, prober)
    quality = store.quality_counts(since, prober)
    stats = None if kept is None else kept.stats
    return compute(endpoints, latest, missing, window, tallies=tallies, quality=quality, kept=stats)


class Kept:
    """What a caller that ranks every second (the dashboard) keeps between rankings, for
    one at a time. An endpoint's newest probes are read again only when something of it
    was stored since, so a ranking of 200 endpoints reads a few of them, not all. Something
    was: its count of stored probes changed (`Store.counts`), or the caller saw a probe of
    it land (`landed`; a refused key is not counted). Every FULL_READ_S all are read again,
    for what neither shows: another process's refused keys, probes pruned. The tallies keep
    most of their raw part (`TallyKept`), and each endpoint's stats are computed again only
    when what they are made of changed (`ranking.StatsKept`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tallies = TallyKept()
        self._base: tuple[datetime, str | None] | None = None  # since, prober of a full read
        self._read_at = 0.0
        self._counts: dict[str, int] = {}
        self._samples: dict[str, list[Sample]] = {}
        self.stats: StatsKept = {}

    def tallies(self, since: datetime, prober: str | None = None) -> dict[str, Tally]:
        return self.store.tallies(since, prober, self._tallies)

    def latest(
        self,
        since: datetime,
        endpoint_ids: Sequence[str],
        prober: str | None = None,
        landed: Collection[str] = (),
    ) -> list[Sample]:
        since = as_utc(since)
        # What was read for a window answers any window starting later: filtered below.
        if (
            self._base is None
            or since < self._base[0]
            or prober != self._base[1]
            or time.monotonic() - self._read_at >= FULL_READ_S
        ):
            self._base, self._read_at, self._samples = (since, prober), time.monotonic(), {}
        # Counted from the full read's hour on: a count only grows, so a change is news.
        counts = self.store.counts(self._base[0], prober)
        stale = [
            e
            for e in endpoint_ids
            if e not in self._samples or e in landed or counts.get(e) != self._counts.get(e)
        ]
        if stale:
            fresh: dict[str, list[Sample]] = {e: [] for e in stale}
            for sample in self.store.latest(since, stale, prober):
                fresh[sample.endpoint_id].append(sample)
            self._samples.update(fresh)
        self._counts = counts
        kept = (s for e in endpoint_ids for s in self._samples[e] if s.started_at >= since)
        return sorted(kept, key=lambda s: s.started_at)
