"""Ranking: reliable first, then fast; too few samples never shows as 100%."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.catalog import Endpoint, Price
from monitor.core.models import ErrorKind, ProbeKind, Sample, State, ToolHealth, parse_window
from monitor.ranking import compute, percentile

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def endpoint(endpoint_id: str, **extra: object) -> Endpoint:
    return Endpoint.model_validate(
        {"id": endpoint_id, "name": endpoint_id.title(), "base_url": "https://x.test/v1",
         "model": "m", **extra}
    )  # fmt: skip


def samples(endpoint_id: str, pattern: str, ttft: float = 200, kind: str = "chat",
            error: ErrorKind = ErrorKind.SERVER) -> list[Sample]:  # fmt: skip
    """One sample per character: `o` ok, `x` failed (oldest first)."""
    start = NOW - timedelta(minutes=len(pattern))
    return [
        Sample(
            endpoint_id=endpoint_id,
            kind=kind,
            started_at=start + timedelta(minutes=i),
            ok=c == "o",
            error=None if c == "o" else error.value,
            status=200 if c == "o" else 500,
            message="" if c == "o" else "HTTP 500: boom",
            ttft_ms=ttft + i if c == "o" else None,
            ttfa_ms=ttft + i + 50 if c == "o" else None,
            total_ms=ttft + 400 if c == "o" else 20,
            tokens_per_s=100.0 if c == "o" else None,
        )
        for i, c in enumerate(pattern)
    ]


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(1, 101))), 0.95) == pytest.approx(95.05)


def test_reliable_beats_fast() -> None:
    fast_flaky = samples("fast", "oxoxoxoooo", ttft=50)
    slow_solid = samples("slow", "oooooooooo", ttft=900)
    stats = compute([endpoint("fast"), endpoint("slow")], fast_flaky + slow_solid)
    assert [s.id for s in stats] == ["slow", "fast"]
    assert [s.rank for s in stats] == [1, 2]
    assert stats[0].state is State.UP and stats[0].uptime == 1.0
    assert stats[1].uptime == pytest.approx(0.7)
    assert stats[0].why.startswith("100.0% up over 1h, TTFT 904 ms p50")


def test_faster_wins_among_equally_reliable() -> None:
    stats = compute(
        [endpoint("a"), endpoint("b")], samples("a", "ooooo", 400) + samples("b", "ooooo", 150)
    )
    assert [s.id for s in stats] == ["b", "a"]


def test_too_few_samples_are_not_a_percentage() -> None:
    (stat,) = compute([endpoint("new")], samples("new", "oo"))
    assert stat.uptime is None and stat.uptime_text() == "n=2"
    assert stat.why.startswith("only 2 samples in 1h")
    (solid,) = compute([endpoint("solid")], samples("solid", "ooooo"))
    assert stat.score < solid.score


def test_states_and_their_order() -> None:
    eps = [endpoint(n) for n in ("up", "down", "limited", "auth", "nokey", "pending", "shaky")]
    data = (
        samples("up", "ooooo")
        + samples("down", "ooxxx")
        + samples("limited", "oooox", error=ErrorKind.RATE_LIMITED)
        + samples("auth", "x", error=ErrorKind.AUTH)
        + samples("shaky", "oooxo")
    )
    stats = {s.id: s for s in compute(eps, data, missing={"nokey": ("NOKEY_API_KEY",)})}
    assert stats["up"].state is State.UP
    assert stats["shaky"].state is State.DEGRADED
    assert stats["down"].state is State.DOWN
    assert stats["limited"].state is State.RATE_LIMITED
    assert stats["auth"].state is State.AUTH and stats["auth"].rank is None
    assert stats["auth"].samples == 0  # the user's key problem is not the provider's downtime
    assert stats["nokey"].state is State.NO_KEY and "NOKEY_API_KEY" in stats["nokey"].why
    assert stats["pending"].state is State.PENDING and stats["pending"].rank is None
    # A rank says "use this one": only endpoints that answer get one.
    assert stats["down"].rank is None and stats["limited"].rank is None
    assert stats["up"].rank == 1 and stats["shaky"].rank == 2
    order = [s.id for s in compute(eps, data, missing={"nokey": ("NOKEY_API_KEY",)})]
    assert order.index("up") < order.index("shaky") < order.index("limited")
    assert order.index("limited") < order.index("down") < order.index("auth")


@pytest.mark.parametrize(
    ("pattern", "state"),
    [
        ("oooox", State.DEGRADED),  # one failure: not down yet
        ("ooxxx", State.DOWN),  # three in a row: down
        ("xxxo", State.DOWN),  # one ok after an outage: still down
        ("xxxoo", State.DEGRADED),  # two: back, with recent failures
        ("xxxooooo", State.DEGRADED),  # under 95% up over the window
    ],
)
def test_down_has_the_alerts_hysteresis(pattern: str, state: State) -> None:
    (stat,) = compute([endpoint("a")], samples("a", pattern))
    assert stat.state is state


def test_an_endpoint_79_percent_up_never_flips_to_down() -> None:
    pattern = "oooxooooxoooxooooxoooxooooxoooox"  # failures scattered, ~80% up
    for end in range(5, len(pattern) + 1):
        (stat,) = compute([endpoint("a")], samples("a", pattern[:end]))
        assert stat.state is not State.DOWN, pattern[:end]


def test_broken_tool_calls_push_an_endpoint_down() -> None:
    tools = samples("tools", "x", kind=ProbeKind.TOOLS, error=ErrorKind.BAD_RESPONSE)
    outage = samples("outage", "x", kind=ProbeKind.TOOLS, error=ErrorKind.SERVER)
    stats = {
        s.id: s
        for s in compute(
            [endpoint("tools"), endpoint("plain"), endpoint("outage")],
            samples("tools", "ooooo", 100) + tools + samples("plain", "ooooo", 300)
            + samples("outage", "ooooo", 300) + outage,
        )
    }  # fmt: skip
    assert stats["tools"].tool_health is ToolHealth.BROKEN
    assert stats["outage"].tool_health is ToolHealth.UNKNOWN  # an outage says nothing of tools
    assert stats["tools"].rank == 3 and "tool calls broken" in stats["tools"].why


def test_price_breaks_ties_and_disabled_is_listed_last() -> None:
    cheap = endpoint("cheap", price=Price(input=0.1, output=0.2))
    dear = endpoint("dear", price=Price(input=3, output=9))
    off = endpoint("off", enabled=False)
    data = samples("cheap", "ooooo") + samples("dear", "ooooo")
    stats = compute([dear, off, cheap], data)
    assert [s.id for s in stats] == ["cheap", "dear", "off"]
    assert stats[2].state is State.DISABLED


def test_json_has_the_promised_keys() -> None:
    (stat,) = compute([endpoint("a")], samples("a", "ooo"))
    keys = {"id", "rank", "score", "uptime", "ttft_p50_ms", "ttft_p95_ms", "total_p50_ms",
            "tokens_per_s", "samples", "last_error"}  # fmt: skip
    assert keys <= set(stat.as_json())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_windows(text: str, expected: timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "0h", "-1h", "30", "soon", "1.5h"])
def test_nonsense_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_window(text)


def test_time_to_first_answer_is_ranked_and_explained() -> None:
    now = datetime.now(UTC)
    endpoint = Endpoint(id="r", name="R", base_url="https://x.test/v1", model="m")
    samples = [
        Sample("r", "chat", now - timedelta(minutes=i), True, None, 200, "", 200.0, 650.0,
               900.0, 100.0)
        for i in range(5)
    ]  # fmt: skip
    (stats,) = compute([endpoint], samples)
    assert stats.ttft_p50_ms == 200.0 and stats.ttfa_p50_ms == 650.0
    assert "answer from 650 ms" in stats.why
    assert stats.as_json()["ttfa_p50_ms"] == 650.0


def test_a_retired_endpoint_explains_itself() -> None:
    from datetime import date

    retired = Endpoint(
        id="nv", name="NV", base_url="https://x.test/v1", model="m", enabled=False,
        deprecated=date(2026, 9, 5), replaced_by="groq",
    )  # fmt: skip
    groq = Endpoint(id="groq", name="Groq", base_url="https://y.test/v1", model="m")
    stats = {s.id: s for s in compute([retired, groq], [])}
    assert stats["nv"].why == (
        "retired by the provider on 2026-09-05; use groq instead; disabled in the catalogue"
    )


def test_kept_stats_are_those_of_a_full_compute_and_only_changed_endpoints_are_redone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor import ranking

    endpoints = [endpoint(e) for e in ("a", "b", "c")]
    data = samples("a", "ooooo") + samples("b", "ooxoo", ttft=300) + samples("c", "xxxxx")
    made: list[str] = []
    make = ranking._stats

    def counted(e: Endpoint, *rest: object) -> object:
        made.append(e.id)
        return make(e, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(ranking, "_stats", counted)
    kept: ranking.StatsKept = {}

    def redone(data: list[Sample], quality: dict[str, tuple[int, int]] | None = None) -> list[str]:
        expected = compute(endpoints, data, quality=quality)
        made.clear()
        assert compute(endpoints, data, quality=quality, kept=kept) == expected
        return made

    assert redone(data, {"a": (24, 40), "b": (62, 64)}) == ["a", "b", "c"]
    # a is no longer judged wrong: what was kept must not carry last time's verdict.
    assert redone(data) == []
    assert redone(data + samples("b", "x", ttft=300)) == ["b"]
