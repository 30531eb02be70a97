"""Class: correct bytes, correct kinds. SSE read per the spec whatever the line endings and
framing, statuses and headers classified by what they mean, and the router relaying any
legitimate answer while bounding what it holds for clients."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor.core.models import ErrorKind
from monitor.store import Store
from monitor.upstream import bounds
from monitor.upstream.sse import Decoder
from tests.e2e.test_router import CHAT, STREAM, content, post, routing, seed
from tests.helpers import sim
from tests.reliability.wire import Start, answer, delta, event, one_round, raw

pytestmark = pytest.mark.anyio
BOM = "\ufeff"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


FRAMINGS = {
    "error null in every chunk": [
        event({**delta("Hi"), "error": None}), event({**delta(finish="stop"), "error": None}),
        "data: [DONE]\n\n",
    ],
    "CR-only line endings": [c.replace("\n", "\r") for c in answer("Hi")],
    "CRLF line endings": [c.replace("\n", "\r\n") for c in answer("Hi")],
    "CRLF split between chunks": ["data: " + json.dumps(delta("Hi")) + "\r", "\n\r\n",
                                  *answer()[-2:]],
    "one event over several data lines": [
        'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "Hi"},\n'
        'data: "finish_reason": null}]}\n\n', *answer()[-2:],
    ],
    "UTF-8 BOM before the first event": [BOM + event(delta("Hi")), *answer()[-2:]],
    "BOM alone in the first chunk": [BOM, event(delta("Hi")), *answer()[-2:]],
    "event, id and retry fields, comments": [
        ": keep-alive\n", "event: message\nid: 1\nretry: 5\n" + event(delta("Hi")),
        *answer()[-2:],
    ],
    "no newline after the last event": [event(delta("Hi")), event(delta(finish="stop"), end="")],
}  # fmt: skip


@pytest.mark.parametrize("name", list(FRAMINGS))
async def test_sse_framings_all_read_the_same(name: str, run_fleet: Start, store: Store) -> None:
    results = await one_round(run_fleet, store, raw("odd", FRAMINGS[name]))
    odd = results["odd"]
    assert odd.ok, odd.message
    assert odd.output_tokens == 1  # the first event was counted, whatever framed it


def test_sse_decoder_gives_the_same_events_at_every_split() -> None:
    stream = "".join(FRAMINGS["one event over several data lines"]).replace("\n", "\r\n")
    stream = (BOM + stream).encode()
    whole = list(Decoder(1 << 20).feed(stream))
    assert whole[0] == '{"choices": [{"index": 0,\n"delta": {"content": "Hi"},\n' \
                       '"finish_reason": null}]}'  # fmt: skip
    for cut in range(len(stream) + 1):
        decoder = Decoder(1 << 20)
        got = [*decoder.feed(stream[:cut]), *decoder.feed(stream[cut:]), *decoder.end()]
        assert got == whole, cut


STATUSES = {
    "408 is a timeout": (raw("odd", ["request timeout"], status=408, headers={
        "content-type": "text/plain"}), ErrorKind.TIMEOUT, "HTTP 408"),
    "a 1 MiB header is a bad response": (
        raw("odd", headers={"x-padding": "y" * (1 << 20)}), ErrorKind.BAD_RESPONSE,
        "not valid HTTP"),
    "an error chunk is still an error": (
        raw("odd", [event({"error": {"message": "overloaded", "code": 503}})]),
        ErrorKind.SERVER, "error inside the stream: overloaded"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STATUSES))
async def test_statuses_and_headers_get_their_kind(
    name: str, run_fleet: Start, store: Store
) -> None:
    profile, kind, needle = STATUSES[name]
    results = await one_round(run_fleet, store, profile)
    assert (results["odd"].error, needle in results["odd"].message) == (kind, True), results


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "1.5s"}, 360.0),
        ({"x-ratelimit-reset-requests": "250ms"}, 0.25),
        ({"x-ratelimit-reset": "30"}, 30.0),
        ({"retry-after": "7", "x-ratelimit-reset-requests": "6m0s"}, 7.0),  # Retry-After wins
    ],
)
async def test_reset_headers_hold_like_retry_after(
    headers: dict[str, str], wait: float, run_fleet: Start, store: Store
) -> None:
    limited = raw("limited", ["slow down"], status=429, headers=headers)
    results = await one_round(run_fleet, store, limited)
    assert results["limited"].error is ErrorKind.RATE_LIMITED
    assert results["limited"].retry_after_s == pytest.approx(wait)
    held = store.states()["limited"].not_before
    assert held is not None
    left = (held.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 0 < left <= wait + 1


def test_reset_as_a_unix_time() -> None:
    assert bounds.reset_seconds([("x-ratelimit-reset", "1000000120")], now=1_000_000_000) == 120


# ---------------------------------------------------------------- the router


def test_router_relays_an_answer_larger_than_the_probe_cap(run_fleet: Start, store: Store) -> None:
    words = 80_000  # about 12 MB of events, past the probe's 8 MiB cap
    _, path = run_fleet(sim("big", output_tokens=words, reasoning_tokens=0, tokens_per_s=1e9))
    seed(store, "big", 100)
    with routing(path, store, total_s=60) as url:
        streamed = post(url, STREAM)
        whole = post(url, CHAT)
    assert streamed.status_code == 200 and len(streamed.content) > 8 << 20
    assert content(streamed.content) == "".join(f"word{i} " for i in range(words))
    assert whole.status_code == 200 and len(whole.content) > 500_000
    assert whole.json()["choices"][0]["message"]["content"].startswith("word0 word1 ")


def test_router_bounds_request_bodies_across_clients(run_fleet: Start, store: Store) -> None:
    _, path = run_fleet(sim("fast"))
    seed(store, "fast", 100)
    half = b" " * (600 << 10)
    with routing(path, store, max_bodies_bytes=1 << 20) as url:
        holding = threading.Event()
        release = threading.Event()

        def slow_body() -> Any:
            yield json.dumps(CHAT)[:-1].encode() + b', "pad": "'
            yield half
            holding.set()
            release.wait(30)
            yield b'"}'

        first: dict[str, httpx.Response] = {}

        def send_slowly() -> None:
            first["r"] = httpx.post(f"{url}/chat/completions", content=slow_body(), timeout=30)

        sender = threading.Thread(target=send_slowly)
        sender.start()
        assert holding.wait(30)
        # The first client holds 600 KiB; this one would take the router past 1 MiB.
        crowded = httpx.post(
            f"{url}/chat/completions",
            content=json.dumps({**CHAT, "pad": " " * (600 << 10)}).encode(), timeout=30,
        )  # fmt: skip
        release.set()
        sender.join(30)
        after = post(url, CHAT)  # what the first request held was given back
    assert crowded.status_code == 503 and crowded.json()["error"]["code"] == "router_busy"
    assert first["r"].status_code == 200, first["r"].text
    assert after.status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_router_token_scheme_is_case_insensitive(
    scheme: str, run_fleet: Start, store: Store
) -> None:
    _, path = run_fleet(sim("fast"))
    seed(store, "fast", 100)
    with routing(path, store, token="tok-123") as url:
        ok = httpx.get(f"{url}/models", headers={"authorization": f"{scheme} tok-123"})
        wrong = httpx.get(f"{url}/models", headers={"authorization": f"{scheme} tok-124"})
    assert (ok.status_code, wrong.status_code) == (200, 401)
