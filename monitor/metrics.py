"""Prometheus metrics read from the store, so teams use the Grafana and alerting they run.

Every series carries `prober` and `region` labels: one set per prober that measured in the
window ("Groq from eu-west" beside "Groq from us-east"), plus `prober="all"` over all of them.

Each scrape reads the store (in the HTTP server's own thread, never an event loop) and
reports the ranking over a window: state, uptime, percentiles, error kinds, and windowed
latency histograms (gauge histograms: they describe the window, they do not only grow).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.core.models import ANSWERING, WindowCounts

if TYPE_CHECKING:
    from datetime import datetime

    from monitor.catalog import Endpoint
    from monitor.core.models import EndpointStats
    from monitor.store import Store

# Seconds; chosen around what users of gpt-oss-120b see (fast providers answer in 0.1-0.5 s).
BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
HISTOGRAMS = {"ttft_ms": "ttft_seconds", "total_ms": "total_seconds"}  # stored ms -> metric
ALL_PROBERS = "all"  # the `prober` label of the aggregate over every prober
LABELS = ["endpoint", "name", "prober", "region"]


@dataclass(frozen=True)
class View:
    """The ranking as one prober saw it (or every prober together: `prober` = "all")."""

    prober: str
    region: str
    stats: list[EndpointStats]
    counts: WindowCounts


def counted(store: Store, since: datetime) -> dict[str | None, WindowCounts]:
    """What the probe and histogram metrics report, counted by the store: per prober, and
    under None over every prober."""
    bounds_ms = [bound * 1000 for bound in BUCKETS]
    return store.window_counts(since, list(HISTOGRAMS), bounds_ms)


Views = Callable[[], list[View]]


class StoreCollector(Collector):
    def __init__(self, views: Views, window: str):
        self.views = views
        self.window = window

    def collect(self) -> Iterator[GaugeMetricFamily | GaugeHistogramMetricFamily]:
        views = self.views()
        families: dict[str, GaugeMetricFamily | GaugeHistogramMetricFamily] = {}
        for view in views:
            for family in self._families(view):
                known = families.setdefault(family.name, family)
                if known is not family:
                    known.samples.extend(family.samples)
        yield from families.values()

    def _families(self, view: View) -> Iterator[GaugeMetricFamily | GaugeHistogramMetricFamily]:
        stats, where = view.stats, [view.prober, view.region]

        def gauge(
            name: str, doc: str, value: Callable[[EndpointStats], float | None]
        ) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"oss_monitor_{name}", doc, labels=LABELS)
            for s in stats:
                v = value(s)
                if v is not None:
                    family.add_metric([s.id, s.endpoint.name, *where], v)
            return family

        yield gauge(
            "up", "1 when the endpoint answers properly now", lambda s: s.state in ANSWERING
        )
        state = GaugeMetricFamily(
            "oss_monitor_state", "current state (1 for the state it is in)",
            labels=[*LABELS, "state"],
        )  # fmt: skip
        for s in stats:
            state.add_metric([s.id, s.endpoint.name, *where, s.state.value], 1)
        yield state
        yield gauge("rank", "position in the ranking (1 = best)", lambda s: s.rank)
        yield gauge("score", "ranking score, 0-100", lambda s: s.score)
        yield gauge("uptime_ratio", f"ok / (ok + failed) over {self.window}", lambda s: s.uptime)
        yield gauge("samples", f"counted probes over {self.window}", lambda s: s.samples)
        yield gauge(
            "ttft_p50_seconds", "time to first token, median", lambda s: _seconds(s.ttft_p50_ms)
        )
        yield gauge(
            "ttft_p95_seconds", "time to first token, p95", lambda s: _seconds(s.ttft_p95_ms)
        )
        yield gauge(
            "ttfa_p50_seconds",
            "time to the first answer token (reasoning excluded), median",
            lambda s: _seconds(s.ttfa_p50_ms),
        )
        yield gauge(
            "total_p50_seconds", "whole answer time, median", lambda s: _seconds(s.total_p50_ms)
        )
        yield gauge("decode_tokens_per_second", "decode speed, median", lambda s: s.tokens_per_s)
        yield gauge(
            "last_probe_timestamp_seconds",
            "when the endpoint was last probed (Unix time)",
            lambda s: s.last_probe_at.timestamp() if s.last_probe_at else None,
        )
        yield gauge(
            "quality_accuracy_ratio",
            f"share of quality-canary answers that were right over {self.window}",
            lambda s: s.quality.ratio if s.quality else None,
        )
        yield gauge(
            "quality_samples",
            f"quality-canary answers checked over {self.window}",
            lambda s: s.quality.total if s.quality else 0,
        )
        yield gauge(
            "quality_answers_wrong",
            "1 when the endpoint answers significantly worse than the best one (demoted)",
            lambda s: bool(s.quality and s.quality.below),
        )
        yield _errors(view)
        yield _histogram("ttft_ms", "time to first token", view)
        yield _histogram("total_ms", "whole answer time", view)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _errors(view: View) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "oss_monitor_probes", "probes in the window by result (ok or error kind)",
        labels=[*LABELS, "result"],
    )  # fmt: skip
    names = {s.id: s.endpoint.name for s in view.stats}
    for (endpoint_id, result), n in sorted(view.counts.results.items()):
        if endpoint_id in names:
            labels = [endpoint_id, names[endpoint_id], view.prober, view.region, result]
            family.add_metric(labels, n)
    return family


def _histogram(column: str, doc: str, view: View) -> GaugeHistogramMetricFamily:
    family = GaugeHistogramMetricFamily(
        f"oss_monitor_{HISTOGRAMS[column]}", f"{doc} of ok probes in the window", labels=LABELS
    )
    names = {s.id: s.endpoint.name for s in view.stats}
    for endpoint_id, histogram in sorted(view.counts.histograms.get(column, {}).items()):
        if endpoint_id not in names:
            continue
        buckets = [(str(b), float(n)) for b, n in zip(BUCKETS, histogram.under, strict=True)]
        buckets.append(("+Inf", float(histogram.values)))
        labels = [endpoint_id, names[endpoint_id], view.prober, view.region]
        family.add_metric(labels, buckets, histogram.total / 1000)
    return family


def serve(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    host: str,
    port: int,
    window: str,
    ready: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve /metrics until `stop` is set (or forever); `ready` gets the bound port."""
    from datetime import UTC, datetime

    from prometheus_client import start_http_server

    from monitor.core.models import parse_window
    from monitor.report import standings

    span = parse_window(window)

    def views() -> list[View]:
        since = datetime.now(UTC) - span
        counts = counted(store, since)
        nothing = WindowCounts({}, {})  # a prober registered but silent in the window
        every = View(ALL_PROBERS, "", standings(endpoints, store, env, window), counts[None])
        return [every] + [
            View(
                prober,
                region or "",
                standings(endpoints, store, env, window, prober),
                counts.get(prober, nothing),
            )
            for prober, region in sorted(store.probers(since).items())
        ]

    registry = CollectorRegistry()
    registry.register(StoreCollector(views, window))
    server, thread = start_http_server(port, addr=host, registry=registry)
    if ready is not None:
        ready(server.server_port)
    try:
        (stop or threading.Event()).wait()
    finally:
        server.shutdown()
        thread.join(timeout=5)
