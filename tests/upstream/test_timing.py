"""Arrival moments: decode speed only on an honest base, time to the first answer token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from monitor.catalog import Endpoint
from monitor.core.models import Clock, ProbeKind, ProbeResult, ProbeSettings
from monitor.probe import probe
from monitor.upstream.client import make_client
from monitor.upstream.timing import MIN_DECODE_SPAN_S, MIN_DECODE_TOKENS, Arrival, Timeline

URL = "https://api.example.test/v1/chat/completions"
ENDPOINT = Endpoint(id="example", name="Example", base_url="https://api.example.test/v1", model="m")
SETTINGS = ProbeSettings(connect_s=2, first_token_s=2, total_s=4)


class Reads:
    """A stand-in stream: the test says which read delivered the bytes, and when."""

    def __init__(self) -> None:
        self.last_arrival: Arrival | None = None

    def arrive(self, at: float, read: int, clock: Clock = "kernel") -> None:
        self.last_arrival = Arrival(at, read, clock)


def timeline_of(reads: list[tuple[float, int]]) -> Timeline:
    """One token per (moment, read) pair."""
    stream = Reads()
    timeline = Timeline(stream=stream)
    for at, read in reads:
        stream.arrive(at, read)
        timeline.token(answer=True)
    return timeline


def test_one_token_per_read_is_the_textbook_formula() -> None:
    timeline = timeline_of([(0.1 * i, i) for i in range(11)])  # 11 tokens over 1 s
    assert timeline.decode_speed(11, 11) == pytest.approx(10.0)
    assert timeline.clock == "kernel"


def test_tokens_read_together_give_no_speed() -> None:
    timeline = timeline_of([(1.0, 7)] * 50)
    assert timeline.decode_speed(50, 50) is None


def test_too_few_tokens_or_too_short_a_span_give_no_speed() -> None:
    few = timeline_of([(0.1 * i, i) for i in range(MIN_DECODE_TOKENS - 1)])
    assert few.decode_speed(MIN_DECODE_TOKENS - 1, MIN_DECODE_TOKENS - 1) is None
    short_gap = MIN_DECODE_SPAN_S / 100
    short = timeline_of([(short_gap * i, i) for i in range(20)])
    assert short.decode_speed(20, 20) is None


def test_a_late_first_read_does_not_inflate_the_speed() -> None:
    # Tokens every 10 ms; the loop read the first ten together, at the tenth one's arrival.
    arrivals = [(0.09, 0)] * 10 + [(0.01 * i, i) for i in range(10, 40)]
    timeline = timeline_of(arrivals)
    assert timeline.first_read_tokens == 10
    assert timeline.decode_speed(40, 40) == pytest.approx(100.0)


def test_a_moment_without_stamps_says_monotonic() -> None:
    stream = Reads()
    timeline = Timeline(stream=stream)
    stream.arrive(1.0, 1, "monotonic")
    timeline.token(answer=False)
    assert timeline.clock == "monotonic"
    assert Timeline().moment().clock == "monotonic"  # no stream at all


async def sse(*deltas: dict[str, Any]) -> AsyncIterator[bytes]:
    """One event per chunk, so each delta is a separate delivery."""
    events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    for event in events:
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("deltas", "kind", "answered"),
    [
        ([{"reasoning": "hm"}, {"reasoning_content": "so"}, {"content": "Hi"}], "chat", "later"),
        ([{"role": "assistant", "content": ""}, {"content": "Hi"}], "chat", "same"),
        ([{"reasoning": "hm"}], "chat", "never"),
        (
            [
                {"reasoning": "call it"},
                {"tool_calls": [{"index": 0, "function": {"name": "get_weather"}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Paris"}'}}]},
            ],
            "tools",
            "later",
        ),
    ],
)
async def test_time_to_first_answer_token(
    anyio_backend: str, deltas: list[dict[str, Any]], kind: str, answered: str
) -> None:
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(
                200, content=sse(*deltas), headers={"content-type": "text/event-stream"}
            )
        )
        async with make_client(SETTINGS) as client:
            r: ProbeResult = await probe(client, ENDPOINT, {}, SETTINGS, ProbeKind(kind))
    assert r.ok, r.message
    assert r.ttft_ms is not None
    if answered == "never":
        assert r.ttfa_ms is None
    elif answered == "same":
        assert r.ttfa_ms == r.ttft_ms
    else:
        assert r.ttfa_ms is not None and r.ttfa_ms > r.ttft_ms
