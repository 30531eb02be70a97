"""Prometheus metrics, scraped over HTTP from a server reading a real store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind
from monitor.metrics import serve
from monitor.store import Store
from tests.helpers import result


def test_scrape_reports_the_ranking(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    store.add([result("fast", at=now - timedelta(minutes=i), ttft=150.0) for i in range(4)])
    store.add(
        [
            result("flaky", at=now - timedelta(minutes=i), ok=i % 2 == 0, ttft=900.0)
            for i in range(4)
        ]
        + [result("flaky", at=now, ok=False, error=ErrorKind.TIMEOUT)]
    )
    endpoints = [
        Endpoint(id=i, name=i.title(), base_url="https://x.test/v1", model="m")
        for i in ("fast", "flaky", "idle")
    ]
    text = scrape(store, endpoints)
    values = {
        (s.name, s.labels.get("endpoint"), s.labels.get("result") or s.labels.get("le")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("prober") == "all"
    }
    assert values["oss_monitor_up", "fast", None] == 1
    assert values["oss_monitor_rank", "fast", None] == 1
    assert values["oss_monitor_uptime_ratio", "fast", None] == 1.0
    assert values["oss_monitor_uptime_ratio", "flaky", None] == 0.4
    assert values["oss_monitor_ttft_p50_seconds", "fast", None] == 0.15
    assert values["oss_monitor_probes", "flaky", "timeout"] == 1
    assert values["oss_monitor_probes", "flaky", "server"] == 2
    assert values["oss_monitor_ttft_seconds_bucket", "fast", "0.2"] == 4
    assert values["oss_monitor_ttft_seconds_bucket", "fast", "0.1"] == 0
    assert values["oss_monitor_state", "idle", None] == 1  # pending, listed all the same
    assert ("oss_monitor_up", "idle", None) in values


def test_every_series_is_labelled_per_prober_and_for_all(store: Store) -> None:
    """Grafana compares "fast from eu-west" with "fast from us-east", and sees the aggregate."""
    now = datetime.now(UTC)
    store.register_prober("berlin", "eu-west")
    store.register_prober("ohio", "us-east")
    store.add(
        [result("fast", at=now - timedelta(minutes=i), ttft=100.0) for i in range(3)], "berlin"
    )
    store.add([result("fast", at=now - timedelta(minutes=i), ttft=400.0) for i in range(3)], "ohio")
    endpoints = [Endpoint(id="fast", name="Fast", base_url="https://x.test/v1", model="m")]
    p50 = {
        (s.labels["prober"], s.labels["region"]): s.value
        for family in text_string_to_metric_families(scrape(store, endpoints))
        for s in family.samples
        if s.name == "oss_monitor_ttft_p50_seconds"
    }
    assert p50 == {("all", ""): 0.25, ("berlin", "eu-west"): 0.1, ("ohio", "us-east"): 0.4}


def scrape(store: Store, endpoints: list[Endpoint]) -> str:
    ports: list[int] = []
    bound = threading.Event()
    stop = threading.Event()

    def ready(port: int) -> None:
        ports.append(port)
        bound.set()

    thread = threading.Thread(
        target=serve, args=(endpoints, store, {}, "127.0.0.1", 0, "1h", ready, stop)
    )
    thread.start()
    try:
        assert bound.wait(10)
        return httpx.get(f"http://127.0.0.1:{ports[0]}/metrics", timeout=10).text
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
