"""The quality canary in the ranking: demotion and its "why", too few samples, JSON, metrics,
and quality probes kept out of latency and uptime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from monitor.core.models import ProbeKind, ProbeResult, QualityItem
from monitor.metrics import StoreCollector, View, counted
from monitor.ranking import compute
from monitor.report import standings
from monitor.store import Store
from tests.helpers import result
from tests.test_ranking import endpoint, samples

ENDPOINTS = [endpoint("sloppy"), endpoint("careful")]
# sloppy is 4x faster; careful is slower and right.
DATA = samples("sloppy", "oooooooooo", ttft=100) + samples("careful", "oooooooooo", ttft=400)


def test_significantly_wrong_answers_rank_below_slower_right_ones() -> None:
    stats = compute(ENDPOINTS, DATA, quality={"sloppy": (24, 40), "careful": (62, 64)})
    assert [s.id for s in stats] == ["careful", "sloppy"]
    assert [s.rank for s in stats] == [1, 2]
    careful, sloppy = stats
    assert sloppy.score > careful.score  # as a service it is better: the answers demote it
    assert sloppy.why.startswith("answers wrong: 60% of 40 vs 97%, 100.0% up over 1h")
    assert careful.why.endswith(", answers right 97% of 64")
    assert sloppy.quality is not None and sloppy.quality.text == "60% of 40, 95% CI 45-74"
    assert careful.quality is not None and not careful.quality.below


def test_too_few_answers_punish_nobody() -> None:
    stats = compute(ENDPOINTS, DATA, quality={"sloppy": (3, 6), "careful": (62, 64)})
    assert [s.id for s in stats] == ["sloppy", "careful"]
    assert stats[0].quality is not None and stats[0].quality.text == "50% of 6, 95% CI 19-81"
    assert "answers" not in stats[0].why  # judged neither way yet


def test_a_small_gap_is_not_a_demotion() -> None:
    stats = compute(ENDPOINTS, DATA, quality={"sloppy": (60, 64), "careful": (63, 64)})
    assert [s.id for s in stats] == ["sloppy", "careful"]
    assert "answers wrong" not in stats[0].why


def test_without_verdicts_nothing_changes() -> None:
    assert [s.id for s in compute(ENDPOINTS, DATA)] == ["sloppy", "careful"]
    assert compute(ENDPOINTS, DATA)[0].as_json()["quality"] is None


def test_rank_json_carries_the_accuracy_and_its_interval() -> None:
    stats = compute(ENDPOINTS, DATA, quality={"sloppy": (24, 40), "careful": (62, 64)})
    by_id = {s.id: s.as_json() for s in stats}
    assert by_id["careful"]["quality"] == {
        "passed": 62,
        "total": 64,
        "accuracy": 0.9688,
        "ci95": [0.893, 0.9914],
        "text": "97% of 64, 95% CI 89-99",
        "answers_wrong": False,
    }
    assert by_id["sloppy"]["quality"]["answers_wrong"] is True  # type: ignore[index]


def quality_results(endpoint_id: str, right: int, wrong: int, at: datetime) -> list[ProbeResult]:
    """Quality probes as the prober reports them: the transport was fine whatever the verdict."""
    return [
        result(
            endpoint_id,
            at=at - timedelta(seconds=i),
            kind=ProbeKind.QUALITY,
            ttft=5000.0,  # a slow quality answer must not touch the latency figures
            quality=QualityItem(
                task_id=f"arith-{i % 50:02d}",
                passed=i < right,
                failure=None if i < right else "wrong",
            ),
        )
        for i in range(right + wrong)
    ]


def test_store_to_metrics_and_quality_probes_stay_out_of_latency(store: Store) -> None:
    now = datetime.now(UTC)
    store.add([result(e.id, at=now - timedelta(minutes=1), ttft=200.0) for e in ENDPOINTS])
    store.add(quality_results("sloppy", 12, 18, now) + quality_results("careful", 30, 0, now))
    stats = standings(ENDPOINTS, store, {}, "1h")
    assert [s.id for s in stats] == ["careful", "sloppy"]
    for s in stats:  # one chat probe each: quality probes count in neither uptime nor TTFT
        assert (s.samples, s.ttft_p50_ms) == (1, 200.0)
    assert stats[1].why.startswith("answers wrong: 40% of 30 vs 100%")
    registry = CollectorRegistry()
    since = now - timedelta(hours=1)
    registry.register(
        StoreCollector(lambda: [View("all", "", stats, counted(store, since)[None])], "1h")
    )
    values = {
        (s.name, s.labels["endpoint"]): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if s.name.startswith("oss_monitor_quality") and s.labels["prober"] == "all"
    }
    assert values == {
        ("oss_monitor_quality_accuracy_ratio", "sloppy"): 0.4,
        ("oss_monitor_quality_accuracy_ratio", "careful"): 1.0,
        ("oss_monitor_quality_samples", "sloppy"): 30,
        ("oss_monitor_quality_samples", "careful"): 30,
        ("oss_monitor_quality_answers_wrong", "sloppy"): 1,
        ("oss_monitor_quality_answers_wrong", "careful"): 0,
    }
