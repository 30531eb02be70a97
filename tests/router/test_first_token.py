"""A provider that never starts answering is abandoned at the first-token deadline and the next
one is tried, whether or not the tool asked for a stream (and whether or not the upstream is
asked for one: chat completions pass `stream: false` through, the other APIs stream upstream)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from monitor.core.models import ErrorKind
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import CHAT, post, routing, seed, traffic
from tests.helpers import sim
from tests.router.test_apis import messages, responses

Start = Callable[..., tuple[FleetServer, Path]]


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
def test_a_hanging_provider_is_left_for_the_next_one_on_a_whole_answer(
    run_fleet: Start, store: Store, api: str
) -> None:
    server, catalogue = run_fleet(sim("hang", mode="hang"), sim("good"))
    seed(store, "hang", ttft=10)
    seed(store, "good", ttft=400)
    # Without a first-token deadline the hang would take the whole 20 s and leave no attempt.
    with routing(catalogue, store, first_token_s=0.5, total_s=20) as url:
        answer: httpx.Response = {
            "chat": lambda: post(url, CHAT),
            "messages": lambda: messages(url),
            "responses": lambda: responses(url),
        }[api]()
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-oss-monitor-endpoint"] == "good"
    assert answer.headers["x-oss-monitor-failovers"] == "1"
    assert "word0" in answer.text
    assert ("hang", False, ErrorKind.TIMEOUT) in traffic(store)
    assert server.fleet.request_counts() == {"hang": 1, "good": 1}
