"""The relay keeps upstream connections: after [DONE] the body's end is read, so the
connection goes back to the pool rather than a new one being opened per request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import STREAM, content, post, routing
from tests.helpers import sim
from tests.router.test_breaker import wait_for

Start = Callable[..., tuple[FleetServer, Path]]


def test_one_upstream_connection_serves_requests_one_after_another(
    run_fleet: Start, store: Store
) -> None:
    _, catalogue = run_fleet(sim("only"))
    with routing(catalogue, store) as url:
        answers = [post(url, STREAM) for _ in range(3)]
    assert all("word0" in content(a.content) for a in answers)
    samples = sorted(store.recent("only"), key=lambda s: s.started_at)
    assert [s.new_connection for s in samples] == [True, False, False]


def test_a_client_that_hangs_up_ends_the_upstream_stream(run_fleet: Start, store: Store) -> None:
    server, catalogue = run_fleet(sim("endless", mode="endless"))
    upstream = server.server.server_state.connections
    with routing(catalogue, store) as url, httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{url}/chat/completions", json=STREAM) as answer:
            assert next(answer.iter_bytes()).startswith(b"data: ")
            assert len(upstream) == 1
        # The tool went away: the router stops reading the provider and closes its connection.
        wait_for(lambda: not upstream, "the upstream connection closed")
    assert store.recent("endless") == []  # our cancellation says nothing of the provider
