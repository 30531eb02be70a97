"""The scheduler against a real simulated fleet on 127.0.0.1: budgets, backoff, control."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from monitor.catalog import Endpoint, Quota
from monitor.core.batcher import Batcher
from monitor.core.models import ErrorKind, ProbeKind, ProbeSettings
from monitor.scheduler import (
    Event,
    ProbeLanded,
    ProbeSkipped,
    ScheduleSettings,
    budget_limits,
    min_interval,
    open_scheduler,
)
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.helpers import catalog_of, sim

pytestmark = pytest.mark.anyio
FAST = ProbeSettings(connect_s=2, first_token_s=2, total_s=3)
Start = Callable[..., tuple[FleetServer, Path]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_budget_arithmetic() -> None:
    groq = Endpoint(
        id="groq", name="Groq", base_url="https://x.test/v1", model="m",
        quota=Quota(rpm=30, rpd=1000),
    )  # fmt: skip
    assert budget_limits(groq, 0.05) == ((60, 1), (86400, 50))
    settings = ScheduleSettings(interval_s=60, budget_fraction=0.05)
    assert min_interval(groq, settings) == 86400 / 50  # the day's budget spread evenly
    tiny = groq.model_copy(update={"quota": Quota(rpd=20)})
    assert budget_limits(tiny, 0.05) == ((86400, 1),)  # never zero: one probe a day still
    assert budget_limits(groq.model_copy(update={"quota": None}), 0.05) == ()


async def test_batcher_coalesces_concurrent_calls() -> None:
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        return [i * 2 for i in items]

    batcher: Batcher[int, int] = Batcher(double)
    results: dict[int, int] = {}

    async def submit(i: int) -> None:
        results[i] = await batcher.submit(i)

    async with anyio.create_task_group() as group:
        for i in range(50):
            group.start_soon(submit, i)
    assert results == {i: i * 2 for i in range(50)}
    assert sum(len(c) for c in calls) == 50
    assert len(calls) <= 3  # one batch starts, everything else queues behind it


async def test_round_stores_every_probe_sent(run_fleet: Start, store: Store) -> None:
    server, path = run_fleet(
        sim("good"), sim("broken", fail_rate={"server": 1.0}), sim("nokey", key_env="UNSET_KEY")
    )
    endpoints = catalog_of(path).enabled()
    async with open_scheduler(endpoints, store, server.env(), FAST, ScheduleSettings()) as sched:
        outcomes = await sched.round((ProbeKind.CHAT, ProbeKind.TOOLS))
    by_id = {(o.endpoint_id, o.kind): o for o in outcomes}
    assert by_id["good", ProbeKind.CHAT].result.ok  # type: ignore[union-attr]
    assert by_id["good", ProbeKind.TOOLS].result.ok  # type: ignore[union-attr]
    assert by_id["broken", ProbeKind.CHAT].result.error is ErrorKind.SERVER  # type: ignore[union-attr]
    assert by_id["nokey", ProbeKind.CHAT].skipped == "no key: set UNSET_KEY"
    assert ("nokey", ProbeKind.TOOLS) not in by_id
    sent = server.fleet.request_counts()
    assert sent == {"good": 2, "broken": 2, "nokey": 0}
    for endpoint_id, count in sent.items():
        assert len(store.recent(endpoint_id)) == count


async def test_tiny_quota_is_never_exceeded(run_fleet: Start, store: Store) -> None:
    # Advertised 40 requests a day; 5% of that is 2 probes, whatever we ask for.
    server, path = run_fleet(sim("tiny", quota={"rpd": 40}))
    endpoints = catalog_of(path).enabled()
    async with open_scheduler(endpoints, store, server.env(), FAST, ScheduleSettings()) as sched:
        rounds = [await sched.round() for _ in range(5)]
    assert server.fleet.request_counts() == {"tiny": 2}
    assert rounds[-1][0].skipped == "budget: 2 of 2 probes in 1d used"


async def test_429_sets_a_shared_retry_after(run_fleet: Start, store: Store) -> None:
    # The provider enforces 1 request a minute but advertises more: it will answer 429.
    limited = sim("limited", quota={"rpm": 1}, advertised_quota={"rpd": 1000}, retry_after_s=120)
    server, path = run_fleet(limited)
    endpoints = catalog_of(path).enabled()
    settings = ScheduleSettings(budget_fraction=1.0)
    async with open_scheduler(endpoints, store, server.env(), FAST, settings) as sched:
        first, second, third = [(await sched.round())[0] for _ in range(3)]
    assert first.result is not None and first.result.ok
    assert second.result is not None and second.result.error is ErrorKind.RATE_LIMITED
    assert second.result.retry_after_s == 120
    assert third.result is None and third.skipped.startswith("rate-limited")
    assert server.fleet.request_counts() == {"limited": 2}  # the third was never sent


async def test_continuous_mode_pause_resume_and_probe_now(run_fleet: Start, store: Store) -> None:
    server, path = run_fleet(sim("a"), sim("b"))
    endpoints = catalog_of(path).enabled()
    landed: list[str] = []
    skipped: list[str] = []
    arrived = anyio.Event()

    def on_event(event: Event) -> None:
        nonlocal arrived
        if isinstance(event, ProbeLanded):
            landed.append(event.result.endpoint_id)
            arrived.set()
        elif isinstance(event, ProbeSkipped):
            skipped.append(event.reason)

    async def wait_for(count: int) -> None:
        nonlocal arrived
        with anyio.fail_after(10):
            while len(landed) < count:
                arrived = anyio.Event()
                await arrived.wait()

    settings = ScheduleSettings(interval_s=3600, budget_fraction=1.0)
    async with (
        open_scheduler(endpoints, store, server.env(), FAST, settings, on_event) as sched,
        anyio.create_task_group() as group,
    ):
        group.start_soon(sched.run)
        await wait_for(2)  # both endpoints probed once at start, then a one-hour cadence
        assert sorted(landed) == ["a", "b"]
        sched.pause()
        assert sched.paused
        sched.probe_now("a")  # woken while paused: waits for resume
        await anyio.wait_all_tasks_blocked()
        assert len(landed) == 2
        sched.resume()
        await wait_for(3)
        assert landed[2] == "a"
        group.cancel_scope.cancel()
    assert server.fleet.request_counts() == {"a": 2, "b": 1}
    assert not skipped


async def test_batcher_hands_a_failure_to_every_caller_of_the_batch() -> None:
    def broken(items: list[int]) -> list[int]:
        raise OSError("disk full")

    batcher: Batcher[int, int] = Batcher(broken)
    errors: list[str] = []

    async def one(i: int) -> None:
        try:
            await batcher.submit(i)
        except OSError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(one, i)
    assert errors == ["disk full"] * 20
