"""The circuit breaker: its states on a fake clock, then the router healing by itself."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from monitor.core.router_address import ROUTER_CIRCUITS as CIRCUITS
from monitor.router.breaker import Breakers
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import STREAM, post, routing, seed
from tests.helpers import sim

Start = Callable[..., tuple[FleetServer, Path]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breakers(clock: Clock) -> Breakers:
    return Breakers(
        threshold=3, cooldown_s=10, max_cooldown_s=25, hold_s=30, trial_s=60, clock=clock
    )


def test_closed_open_half_open_closed() -> None:
    clock = Clock()
    b = breakers(clock)
    for _ in range(2):
        b.failure("a", "HTTP 503")
    assert b.state("a") == "closed" and b.blocked("a") == ""
    b.failure("a", "HTTP 503")
    assert b.state("a") == "open" and "circuit open for 10 s" in b.blocked("a")
    clock.now += 10
    assert b.state("a") == "half-open" and b.blocked("a") == ""
    b.begin("a")  # the one trial
    assert "trial request" in b.blocked("a")
    b.success("a")
    assert b.state("a") == "closed" and b.view("a") == {
        "state": "closed",
        "failures": 0,
        "last_error": "HTTP 503",
    }


def test_failed_trials_double_the_cooldown_up_to_the_cap() -> None:
    clock = Clock()
    b = breakers(clock)
    for _ in range(3):
        b.failure("a", "refused")
    waits = []
    for _ in range(3):
        clock.now += 100
        b.begin("a")
        b.failure("a", "refused")
        assert b.state("a") == "open"
        waits.append(b.circuits["a"].cooldown_s)
    assert waits == [20, 25, 25]
    clock.now += 100
    b.begin("a")
    b.success("a")
    assert b.circuits["a"].cooldown_s == 10  # reset once it answers


def test_a_stale_trial_does_not_block_forever() -> None:
    """A trial whose client went away never reports back; another may go after trial_s."""
    clock = Clock()
    b = breakers(clock)
    for _ in range(3):
        b.failure("a", "x")
    clock.now += 10
    b.begin("a")
    clock.now += 61
    assert b.blocked("a") == ""


def test_429_rests_for_its_retry_after() -> None:
    clock = Clock()
    b = breakers(clock)
    b.failure("a", "HTTP 429", rate_limited=True, retry_after_s=7)
    assert b.resting("a") and "rate-limited for 7 s" in b.blocked("a")
    assert b.view("a")["state"] == "rate-limited" and "until" in b.view("a")
    clock.now += 7
    assert not b.resting("a") and b.blocked("a") == "" and b.state("a") == "closed"
    b.failure("b", "HTTP 429", rate_limited=True)  # no Retry-After: hold_s
    clock.now += 29
    assert b.resting("b")


def test_least_recently_failed_first() -> None:
    clock = Clock()
    b = breakers(clock)
    for name in ("a", "b", "c"):
        clock.now += 1
        b.failure(name, "x")
    assert b.least_recently_failed(["c", "b", "never", "a"]) == ["never", "a", "b", "c"]
    assert json.loads(b.export()["a"])["failures"] == 1


# -- the router healing by itself (no prober runs in these tests)


def wait_for(check: Callable[[], Any], what: str, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def health(url: str) -> dict[str, Any]:
    return httpx.get(url.removesuffix("/v1") + "/health", timeout=10).json()


FAST = {"refresh_s": 0.05, "breaker_failures": 2, "breaker_cooldown_s": 60, "max_attempts": 3}


def test_outage_then_recovery_without_a_prober(run_fleet: Start, store: Store) -> None:
    server, catalogue = run_fleet(sim("a"))
    seed(store, "a", ttft=20)
    endpoint = server.fleet.runtime["a"].sim
    with routing(catalogue, store, **FAST) as url:
        assert post(url, STREAM).status_code == 200
        endpoint.mode = "status"  # the provider goes down (503)
        failed = [post(url, STREAM).status_code for _ in range(2)]
        assert failed == [502, 502]
        # The circuit is open and the ranking, refreshed, now says the endpoint is down:
        # before the breaker, the router answered 503 from here on until a probe ran.
        down = wait_for(lambda: (h := health(url))["skipped"].get("a") and h, "a skipped")
        assert down["circuits"]["a"]["state"] == "open" and down["ok"] is False
        endpoint.mode = "normal"  # it comes back
        back = post(url, STREAM)
        assert back.status_code == 200 and back.headers["x-oss-monitor-endpoint"] == "a"
        healed = wait_for(lambda: (h := health(url))["ok"] and h, "a healthy again")
        assert healed["circuits"]["a"] == {
            "state": "closed",
            "failures": 0,
            "last_error": healed["circuits"]["a"]["last_error"],
        }
        assert healed["traffic"]["last_resort"] >= 1
    stored = json.loads(store.remembered(CIRCUITS)["a"])  # for the dashboard's router line
    assert stored["state"] == "closed"


def test_all_down_then_one_back(run_fleet: Start, store: Store) -> None:
    server, catalogue = run_fleet(sim("a"), sim("b"), sim("c"))
    for rank, name in enumerate("abc"):
        seed(store, name, ttft=10 + rank)
    endpoints = {n: server.fleet.runtime[n].sim for n in "abc"}
    for endpoint in endpoints.values():
        endpoint.mode = "status"
    with routing(catalogue, store, **FAST) as url:
        for _ in range(2):
            assert post(url, STREAM).status_code == 502
        wait_for(lambda: len(health(url)["skipped"]) == 3, "all three skipped")
        stored = wait_for(lambda: store.remembered(CIRCUITS).get("c"), "circuits stored")
        assert json.loads(stored)["state"] == "open"
        endpoints["b"].mode = "normal"
        back = post(url, STREAM)
        assert back.status_code == 200 and back.headers["x-oss-monitor-endpoint"] == "b"
        after = health(url)["circuits"]
        assert after["b"]["state"] == "closed" and after["a"]["state"] == "open"
        # The next request goes straight to b: a and c stay behind their circuits.
        again = post(url, STREAM)
        assert again.headers["x-oss-monitor-endpoint"] == "b"
        assert "x-oss-monitor-failovers" not in again.headers


def test_the_dashboard_reads_which_circuits_hold_back() -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.core.router_address import open_circuits

    clock = Clock()
    b = breakers(clock)
    for _ in range(3):
        b.failure("down", "HTTP 503")
    b.failure("limited", "HTTP 429", rate_limited=True, retry_after_s=60)
    b.failure("shaky", "HTTP 503")
    stored = {**b.export(), "junk": "{not json", "old": '{"state": "open"}'}
    now = datetime.now(UTC)
    assert open_circuits(stored, now) == ["down", "limited"]
    assert open_circuits(stored, now + timedelta(seconds=11)) == ["limited"]
