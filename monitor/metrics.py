"""Prometheus metrics read from the store, so teams use the Grafana and alerting they run.

Each scrape reads the store (in the HTTP server's own thread, never an event loop) and
reports the ranking over a window: state, uptime, percentiles, error kinds, and windowed
latency histograms (gauge histograms: they describe the window, they do not only grow).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.core.models import ANSWERING, ProbeKind, Sample

if TYPE_CHECKING:
    from monitor.catalog import Endpoint
    from monitor.core.models import EndpointStats
    from monitor.store import Store

# Seconds; chosen around what users of gpt-oss-120b see (fast providers answer in 0.1-0.5 s).
BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
Rank = Callable[[], tuple[list["EndpointStats"], list[Sample]]]


class StoreCollector(Collector):
    def __init__(self, rank: Rank, window: str, prober: str | None = None):
        self.rank = rank
        self.window = window
        self.prober = prober

    def collect(self) -> Iterator[GaugeMetricFamily | GaugeHistogramMetricFamily]:
        stats, samples = self.rank()
        labels = ["endpoint", "name"]

        def gauge(
            name: str, doc: str, value: Callable[[EndpointStats], float | None]
        ) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"oss_monitor_{name}", doc, labels=labels)
            for s in stats:
                v = value(s)
                if v is not None:
                    family.add_metric([s.id, s.endpoint.name], v)
            return family

        usable = ANSWERING
        yield gauge("up", "1 when the endpoint answers properly now", lambda s: s.state in usable)
        state = GaugeMetricFamily(
            "oss_monitor_state", "current state (1 for the state it is in)",
            labels=[*labels, "state"],
        )  # fmt: skip
        for s in stats:
            state.add_metric([s.id, s.endpoint.name, s.state.value], 1)
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
            "total_p50_seconds", "whole answer time, median", lambda s: _seconds(s.total_p50_ms)
        )
        yield gauge("decode_tokens_per_second", "decode speed, median", lambda s: s.tokens_per_s)
        yield gauge(
            "last_probe_timestamp_seconds",
            "when the endpoint was last probed (Unix time)",
            lambda s: s.last_probe_at.timestamp() if s.last_probe_at else None,
        )
        yield _errors(stats, samples, labels)
        names = {s.id: s.endpoint.name for s in stats}
        yield _histogram("ttft_seconds", "time to first token", samples, names, "ttft_ms")
        yield _histogram("total_seconds", "whole answer time", samples, names, "total_ms")


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _errors(
    stats: Sequence[EndpointStats], samples: Sequence[Sample], labels: list[str]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "oss_monitor_probes", "probes in the window by result (ok or error kind)",
        labels=[*labels, "result"],
    )  # fmt: skip
    names = {s.id: s.endpoint.name for s in stats}
    counts: dict[tuple[str, str], int] = {}
    for sample in samples:
        if sample.endpoint_id in names:
            key = (sample.endpoint_id, "ok" if sample.ok else sample.error or "unknown")
            counts[key] = counts.get(key, 0) + 1
    for (endpoint_id, result), n in sorted(counts.items()):
        family.add_metric([endpoint_id, names[endpoint_id], result], n)
    return family


def _histogram(
    name: str, doc: str, samples: Sequence[Sample], names: Mapping[str, str], field: str
) -> GaugeHistogramMetricFamily:
    family = GaugeHistogramMetricFamily(
        f"oss_monitor_{name}", f"{doc} of ok probes in the window", labels=["endpoint", "name"]
    )
    values: dict[str, list[float]] = {}
    for sample in samples:
        value = getattr(sample, field)
        if sample.ok and sample.kind != ProbeKind.TOOLS and value is not None:
            values.setdefault(sample.endpoint_id, []).append(value / 1000)
    for endpoint_id, seconds in sorted(values.items()):
        if endpoint_id not in names:
            continue
        buckets = [(str(b), float(sum(v <= b for v in seconds))) for b in BUCKETS]
        buckets.append(("+Inf", float(len(seconds))))
        family.add_metric([endpoint_id, names[endpoint_id]], buckets, sum(seconds))
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

    def rank() -> tuple[list[EndpointStats], list[Sample]]:
        samples = store.samples(datetime.now(UTC) - span)
        return standings(endpoints, store, env, window), samples

    registry = CollectorRegistry()
    registry.register(StoreCollector(rank, window))
    server, thread = start_http_server(port, addr=host, registry=registry)
    if ready is not None:
        ready(server.server_port)
    try:
        (stop or threading.Event()).wait()
    finally:
        server.shutdown()
        thread.join(timeout=5)
