"""The team files (Grafana dashboard, compose, Prometheus, Dockerfile) agree with the code.

No container engine runs in CI: these tests check that the files parse, that every Grafana
query names a metric the exporter really serves, and that the services line up.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from monitor.catalog import Endpoint
from monitor.cli import build_parser
from monitor.core.data import data_path
from monitor.core.models import ProbeKind, QualityItem
from monitor.metrics import StoreCollector, View, counted
from monitor.report import standings
from monitor.store import Store
from tests.helpers import result

DEPLOY = data_path("deploy")


def exported_names(store: Store) -> set[str]:
    store.add([result("fast", at=datetime.now(UTC), ttfa_ms=300.0) for _ in range(3)], "berlin")
    verdict = QualityItem(task_id="arith-01", passed=True)
    store.add([result("fast", kind=ProbeKind.QUALITY, quality=verdict)], "berlin")
    endpoints = [Endpoint(id="fast", name="Fast", base_url="https://x.test/v1", model="m")]
    since = datetime(2000, 1, 1, tzinfo=UTC)
    stats = standings(endpoints, store, {}, "1h")
    registry = CollectorRegistry()
    registry.register(
        StoreCollector(lambda: [View("all", "", stats, counted(store, since)[None])], "1h")
    )
    text = generate_latest(registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_grafana_query_names_an_exported_metric(store: Store) -> None:
    dashboard = json.loads(data_path("grafana/oss-monitor.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs.append(dashboard["templating"]["list"][0]["query"]["query"])
    used = {name for expr in exprs for name in re.findall(r"oss_monitor_\w+", expr)}
    names = exported_names(store)
    assert used and used <= names, sorted(used - names)
    assert all('prober="$prober"' in e or "prober!=" in e for e in exprs[:-1])


def test_compose_services_line_up() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "prober", "metrics", "prometheus", "grafana"}
    parser = build_parser()
    for name in ("prober", "metrics"):
        service = services[name]
        assert service["environment"]["OSS_MONITOR_DB"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in service["environment"]["OSS_MONITOR_DB"]
        parser.parse_args(service["command"])  # a real oss-monitor command line
        assert (DEPLOY / ".." / ".." / service["build"]["dockerfile"]).resolve().is_file()
    metrics_port = services["metrics"]["command"][
        services["metrics"]["command"].index("--port") + 1
    ]
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == [
        f"metrics:{metrics_port}"
    ]
    mounts = dict(v.split(":")[:2] for v in services["grafana"]["volumes"])
    provisioning = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/oss-monitor.yaml").read_text()
    )
    dashboards = provisioning["providers"][0]["options"]["path"]
    assert (
        DEPLOY / next(k for k, v in mounts.items() if v == dashboards) / "oss-monitor.json"
    ).is_file()


def test_dockerfile_installs_the_package_and_runs_the_cli() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "pip install" in text and "'.[postgres]'" in text
    assert 'ENTRYPOINT ["oss-monitor"]' in text
    for copied in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for name in copied.split():
            assert (Path(__file__).parents[1] / name).exists(), name
