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
        text = httpx.get(f"http://127.0.0.1:{ports[0]}/metrics", timeout=10).text
    finally:
        stop.set()
        thread.join(10)
    values = {
        (s.name, s.labels.get("endpoint"), s.labels.get("result") or s.labels.get("le")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
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
    assert not thread.is_alive()
