"""Quality probes against the simulated fleet: verdicts stored per item, the bank rotating
across runs, the shared budget, and when the scheduler sends them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.catalog import Endpoint, Quota
from monitor.core.models import ProbeKind, ProbeSettings
from monitor.scheduler import Scheduler, ScheduleSettings, open_scheduler, tight
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.helpers import catalog_of, sim

pytestmark = pytest.mark.anyio
FAST = ProbeSettings(connect_s=2, first_token_s=2, total_s=3)
Start = Callable[..., tuple[FleetServer, Path]]
ROUNDS = 6


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_right_and_wrong_answers_are_stored_per_item(run_fleet: Start, store: Store) -> None:
    server, path = run_fleet(
        sim("right"),
        sim("wrong", quality={"wrong": 1.0}),
        sim("cut", quality={"truncate": 1.0}),
        sim("leaky", quality={"leak": 1.0}),
    )
    endpoints = catalog_of(path).enabled()
    results = []
    for _ in range(2):  # two runs (two cron jobs): the second goes on through the bank
        async with open_scheduler(endpoints, store, server.env(), FAST, ScheduleSettings()) as s:
            for _ in range(ROUNDS // 2):
                results += [o.result for o in await s.round((ProbeKind.QUALITY,))]
    assert all(r is not None and r.ok and r.quality is not None for r in results)
    counts = store.quality_counts(datetime.now(UTC) - timedelta(hours=1))
    assert counts == {"right": (ROUNDS, ROUNDS), "wrong": (0, ROUNDS), "cut": (0, ROUNDS),
                      "leaky": (0, ROUNDS)}  # fmt: skip
    wrong = store.quality_failures("wrong", limit=ROUNDS)
    assert len({f.task_id for f in wrong}) == ROUNDS  # a new item each time, across runs
    assert {f.failure for f in wrong} <= {"wrong", "tool_args"}
    assert all(f.expected and f.received and f.expected != f.received for f in wrong)
    assert {f.failure for f in store.quality_failures("cut")} == {"truncated"}
    assert {f.failure for f in store.quality_failures("leaky")} == {"leaked"}
    # Quality probes are kept out of the latency and uptime tallies, like tool probes.
    assert store.tallies(datetime.now(UTC) - timedelta(hours=1)) == {}


async def test_quality_probes_take_slots_from_the_shared_budget(
    run_fleet: Start, store: Store
) -> None:
    server, path = run_fleet(sim("tiny", quota={"rpd": 60}))  # 5% of 60: 3 probes a day
    endpoints = catalog_of(path).enabled()
    settings = ScheduleSettings(quality_tight=True)
    async with open_scheduler(endpoints, store, server.env(), FAST, settings) as sched:
        first = await sched.round((ProbeKind.CHAT, ProbeKind.QUALITY))
        second = await sched.round((ProbeKind.QUALITY, ProbeKind.CHAT))
    assert [o.result is not None for o in first + second] == [True, True, True, False]
    assert second[1].skipped == "budget: 3 of 3 probes in 1d used"
    assert server.fleet.request_counts() == {"tiny": 3}


def scheduler(store: Store, settings: ScheduleSettings, *endpoints: Endpoint) -> Scheduler:
    return Scheduler(endpoints, store, None, {}, FAST, settings)  # type: ignore[arg-type]


def kinds(sched: Scheduler, endpoint: Endpoint, probes: int = 20) -> str:
    """The kinds of an endpoint's first probes: c chat, t tools, q quality."""
    letter = {ProbeKind.CHAT: "c", ProbeKind.TOOLS: "t", ProbeKind.QUALITY: "q"}
    return "".join(letter[sched.kind_for(endpoint, count)] for count in range(probes))


async def test_one_probe_in_n_checks_an_answer_unless_the_budget_is_tight(store: Store) -> None:
    roomy = Endpoint(id="roomy", name="R", base_url="https://x.test/v1", model="m")
    scarce = roomy.model_copy(update={"id": "scarce", "quota": Quota(rpd=1000)})  # 50 a day
    settings = ScheduleSettings(interval_s=60)
    assert not tight(roomy, settings) and tight(scarce, settings)
    assert kinds(scheduler(store, settings), roomy) == "ctcccccccqctcccccccq"
    assert kinds(scheduler(store, settings), scarce) == "ctcccccccc" * 2
    asked = settings.model_copy(update={"quality_tight": True})
    assert kinds(scheduler(store, asked), scarce) == "ctcccccccqctcccccccq"
    never = settings.model_copy(update={"quality_every": 0})
    assert kinds(scheduler(store, never), roomy) == "ctcccccccc" * 2
    sched = scheduler(store, settings, roomy, scarce)
    sched.quality_now()  # the dashboard's key: the next probe of each checks an answer
    assert kinds(sched, scarce, 3) == "qtc"
    assert kinds(sched, roomy, 3) == "qtc"
