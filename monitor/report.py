"""The standings: what the store says about every endpoint over a window, best first.

The one path from the store to the ranking (store -> ranking), shared by the CLI, the
dashboard, export, the router, alerts and metrics. It reads counts and latency histograms
(`Store.tallies`) and each endpoint's newest probes (`Store.latest`), never every probe, so a
week of a hundred endpoints ranks in milliseconds. Blocking: call it in a thread from async code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from monitor.catalog import Endpoint, resolve
from monitor.core.models import EndpointStats, parse_window
from monitor.ranking import compute
from monitor.store import Store


def standings(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    window: str,
    prober: str | None = None,
    now: datetime | None = None,
) -> list[EndpointStats]:
    """Stats per endpoint, best first; `prober` keeps only what that prober measured."""
    since = (now or datetime.now(UTC)) - parse_window(window)
    missing = {e.id: resolve(e, env).missing for e in endpoints}
    latest = store.latest(since, [e.id for e in endpoints], prober)
    tallies, quality = store.tallies(since, prober), store.quality_counts(since, prober)
    return compute(endpoints, latest, missing, window, tallies=tallies, quality=quality)
