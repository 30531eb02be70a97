"""The relay keeps upstream connections: after [DONE] the body's end is read, so the
connection goes back to the pool rather than a new one being opened per request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import STREAM, content, post, routing
from tests.helpers import sim

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
