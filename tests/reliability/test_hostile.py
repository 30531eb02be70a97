"""Hostile providers, through the real scheduler and prober against the simulated fleet.

Each case: the right error kind, the round ends within its time budget (monotonic clock,
generous slack for slow CI machines), memory stays bounded where a provider floods us, every
request sent is a stored row, and the next round works once the provider behaves again.
"""

from __future__ import annotations

import math
import socket
import ssl
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import anyio
import httpx
import pytest

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind, ProbeResult, ProbeSettings
from monitor.scheduler import (
    Event,
    Outcome,
    ProbeLanded,
    ProbeStarted,
    Scheduler,
    ScheduleSettings,
    open_scheduler,
)
from monitor.sim.fleet import (
    FLEET_KEY_ENV,
    FleetProfile,
    FleetServer,
    Mode,
    SimEndpoint,
    catalogue_yaml,
)
from monitor.store import Store
from tests.helpers import FLEET_KEY, catalog_of, self_signed, sim

pytestmark = pytest.mark.anyio
Start = Callable[..., tuple[FleetServer, Path]]
BUDGET = ProbeSettings(connect_s=1, first_token_s=1.5, total_s=3)
SLACK = 5.0  # seconds on top of a budget before a round counts as late
MiB = 1 << 20


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def timed_round(sched: Scheduler) -> tuple[dict[str, ProbeResult], float]:
    start = time.monotonic()
    outcomes = await sched.round()
    return {o.endpoint_id: result_of(o) for o in outcomes}, time.monotonic() - start


def result_of(outcome: Outcome) -> ProbeResult:
    assert outcome.result is not None, outcome.skipped
    return outcome.result


def assert_every_request_stored(server: FleetServer, store: Store) -> None:
    for endpoint_id, sent in server.fleet.request_counts().items():
        assert len(store.recent(endpoint_id, limit=1000)) == sent, endpoint_id


def behave(server: FleetServer, endpoint_id: str, **fields: Any) -> None:
    """The provider mends its ways (the fleet reads its profile on every request)."""
    runtime = server.fleet.runtime[endpoint_id]
    profile = {**runtime.sim.model_dump(), "mode": "normal", **fields}
    runtime.sim = SimEndpoint.model_validate(profile)


@dataclass(frozen=True)
class Case:
    profile: dict[str, Any]
    kind: ErrorKind
    needle: str
    waits: float = 0.0  # the probe must have waited this long before giving up
    fix: dict[str, Any] = field(default_factory=dict)


CASES = {
    "never answers": Case(
        {"mode": "hang"}, ErrorKind.TIMEOUT, "no response headers within 1.5 s", waits=1.5
    ),
    "headers then nothing": Case(
        {"mode": "headers_only"}, ErrorKind.TIMEOUT, "no first token within 1.5 s", waits=1.5
    ),
    "half a stream then drop": Case(
        {"mode": "cut"}, ErrorKind.BAD_RESPONSE, "the connection dropped mid-stream after"
    ),
    "200 with an HTML page": Case(
        {"mode": "html"}, ErrorKind.BAD_RESPONSE, "HTTP 200 but an HTML page (502 Bad Gateway)"
    ),
    "200 with broken JSON": Case(
        {"mode": "broken_json"}, ErrorKind.BAD_RESPONSE, "broken JSON in the event stream"
    ),
    "401 echoing the key": Case(
        {"key": "sim-other-key-000000000"}, ErrorKind.AUTH,
        "HTTP 401: Invalid API key provided: ***", fix={"key": None},
    ),
    "404 for the model": Case(
        {"served_model": "openai/gpt-oss-120b-renamed"}, ErrorKind.MODEL_MISSING,
        "HTTP 404: The model `openai/gpt-oss-120b` does not exist", fix={"served_model": None},
    ),
    **{
        f"{status}": Case(
            {"mode": "status", "error_status": status}, ErrorKind.SERVER,
            f"HTTP {status}: Simulated HTTP {status}",
        )
        for status in (500, 502, 503, 529)
    },
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_provider(name: str, run_fleet: Start, store: Store) -> None:
    case = CASES[name]
    server, path = run_fleet(sim("hostile", **case.profile), sim("healthy"))
    endpoints = catalog_of(path).enabled()
    async with open_scheduler(endpoints, store, server.env(), BUDGET, ScheduleSettings()) as sched:
        results, elapsed = await timed_round(sched)
        hostile = results["hostile"]
        assert (hostile.ok, hostile.error) == (False, case.kind), hostile.message
        assert case.needle in hostile.message
        assert FLEET_KEY not in hostile.model_dump_json()
        assert results["healthy"].ok, results["healthy"].message
        assert case.waits <= elapsed < max(case.waits, BUDGET.total_s) + SLACK

        behave(server, "hostile", **case.fix)
        again, _ = await timed_round(sched)
    assert again["hostile"].ok and again["healthy"].ok, again["hostile"].message
    assert server.fleet.request_counts() == {"hostile": 2, "healthy": 2}
    assert_every_request_stored(server, store)


@pytest.mark.parametrize(
    ("mode", "profile", "settings", "kind", "needle"),
    [
        ("huge_chunk", {}, BUDGET, ErrorKind.BAD_RESPONSE, "one stream line exceeded 1024 KiB"),
        # Tokens forever at a normal pace: the total budget ends it.
        ("endless", {}, BUDGET, ErrorKind.TIMEOUT, "the stream did not end within 3 s"),
        # Tokens forever as fast as the fleet can send them: the byte cap ends it first.
        ("endless", {"tokens_per_s": 1e9},
         BUDGET.model_copy(update={"max_stream_bytes": 4 * MiB, "total_s": 20}),
         ErrorKind.BAD_RESPONSE, "the stream exceeded 4 MiB"),
    ],
    ids=["huge chunk", "endless trickle", "endless flood"],
)  # fmt: skip
async def test_floods_keep_memory_bounded(
    mode: str,
    profile: dict[str, Any],
    settings: ProbeSettings,
    kind: ErrorKind,
    needle: str,
    run_fleet: Start,
    store: Store,
) -> None:
    server, path = run_fleet(sim("flood", mode=mode, **profile), sim("healthy"))
    endpoints = catalog_of(path).enabled()
    schedule = ScheduleSettings()
    async with open_scheduler(endpoints, store, server.env(), settings, schedule) as sched:
        tracemalloc.start()
        try:
            results, elapsed = await timed_round(sched)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        flood = results["flood"]
        assert (flood.error, needle in flood.message) == (kind, True), flood.message
        assert results["healthy"].ok
        # Both the fleet (in this process) and the prober are traced; the floods send 4 MiB or
        # more, and reading them line by line must hold far less than that.
        assert peak < 3 * MiB, f"peak {peak / MiB:.1f} MiB"
        assert elapsed < settings.total_s + SLACK

        behave(server, "flood", tokens_per_s=2000)
        again, _ = await timed_round(sched)
    assert again["flood"].ok and again["healthy"].ok
    assert_every_request_stored(server, store)


async def test_retry_after_is_honoured_not_hammered(run_fleet: Start, store: Store) -> None:
    # The provider allows 1 request a minute and says "Retry-After: 1" to every other one.
    limited = sim("limited", quota={"rpm": 1}, advertised_quota={"rpd": 10_000_000},
                  retry_after_s=1)  # fmt: skip
    server, path = run_fleet(limited)
    endpoints = catalog_of(path).enabled()
    started: list[float] = []
    landed: list[ProbeResult] = []
    arrived = anyio.Event()

    def on_event(event: Event) -> None:
        nonlocal arrived
        if isinstance(event, ProbeStarted):
            started.append(time.monotonic())
        elif isinstance(event, ProbeLanded):
            landed.append(event.result)
            arrived.set()

    async def until(done: Callable[[], bool]) -> None:
        nonlocal arrived
        with anyio.fail_after(15):
            while not done():
                arrived = anyio.Event()
                await arrived.wait()

    # Probing every 0.1 s would be 10 requests a second if Retry-After were ignored.
    settings = ScheduleSettings(interval_s=0.1, budget_fraction=1.0, jitter=0.1)
    async with (
        open_scheduler(endpoints, store, server.env(), BUDGET, settings, on_event) as sched,
        anyio.create_task_group() as group,
    ):
        group.start_soon(sched.run)
        await until(lambda: sum(r.error is ErrorKind.RATE_LIMITED for r in landed) >= 3)
        behave(server, "limited", quota=None)  # the quota resets
        await until(lambda: landed[-1].ok)
        group.cancel_scope.cancel()
    kinds = [r.error for r in landed]
    assert kinds[0] is None and kinds[1:4] == [ErrorKind.RATE_LIMITED] * 3 and kinds[-1] is None
    assert all(r.retry_after_s == 1 for r in landed if r.error)
    after_429 = [b - a for a, b, r in zip(started, started[1:], landed, strict=False) if r.error]
    assert len(after_429) >= 3 and min(after_429) >= 0.95, after_429
    assert server.fleet.request_counts() == {"limited": len(started)} == {"limited": len(landed)}
    assert_every_request_stored(server, store)


async def test_redirect_to_another_host_is_not_followed(run_fleet: Start, store: Store) -> None:
    other, _ = run_fleet(sim("catcher", key_env=None))
    target = f"{other.base_url}/catcher/v1/chat/completions"
    server, path = run_fleet(sim("mover", mode="redirect", redirect_to=target), sim("healthy"))
    endpoints = catalog_of(path).enabled()
    async with open_scheduler(endpoints, store, server.env(), BUDGET, ScheduleSettings()) as sched:
        results, elapsed = await timed_round(sched)
        behave(server, "mover")
        again, _ = await timed_round(sched)
    moved = results["mover"]
    assert (moved.error, moved.status) == (ErrorKind.BAD_RESPONSE, 307)
    assert moved.message == "HTTP 307: redirected to 127.0.0.1; not followed"
    assert other.fleet.request_counts() == {"catcher": 0}  # neither the request nor the key
    assert elapsed < BUDGET.total_s + SLACK
    assert again["mover"].ok and again["healthy"].ok
    assert_every_request_stored(server, store)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Names ending in .invalid resolve from this table, else fail; never a real lookup."""
    table: dict[str, str] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)  # anyio passes bytes
        if name.endswith(".invalid"):
            asked.append(name)
            if name not in table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            host = table[name]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield table
    assert asked, "the patched resolver was never asked: the test proved nothing"


def endpoint(endpoint_id: str, base_url: str) -> Endpoint:
    return Endpoint(
        id=endpoint_id, name=endpoint_id, base_url=base_url, model="openai/gpt-oss-120b",
        api_key_env=FLEET_KEY_ENV,
    )  # fmt: skip


async def test_dns_failure(run_fleet: Start, store: Store, resolver: dict[str, str]) -> None:
    server, path = run_fleet(sim("lost"), sim("healthy"))
    name = "api.lost-provider.invalid"
    lost = endpoint("lost", f"http://{name}:{server.port}/lost/v1")
    endpoints = [lost, *catalog_of(path).enabled()[1:]]
    async with open_scheduler(endpoints, store, server.env(), BUDGET, ScheduleSettings()) as sched:
        results, elapsed = await timed_round(sched)
        resolver[name] = "127.0.0.1"  # the name resolves again
        again, _ = await timed_round(sched)
    assert results["lost"].error is ErrorKind.NETWORK
    assert results["lost"].message == f"DNS lookup failed for {name}"
    assert results["healthy"].ok and elapsed < BUDGET.total_s + SLACK
    assert again["lost"].ok and again["healthy"].ok
    assert server.fleet.request_counts() == {"lost": 1, "healthy": 2}


async def test_connection_refused(run_fleet: Start, store: Store) -> None:
    server, path = run_fleet(sim("healthy"))
    # A bound socket that does not listen refuses connections, and nobody else can take it.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = endpoint("refused", f"http://127.0.0.1:{closed.getsockname()[1]}/v1")
        endpoints = [refused, *catalog_of(path).enabled()]
        async with open_scheduler(
            endpoints, store, server.env(), BUDGET, ScheduleSettings()
        ) as sched:
            rounds = [await timed_round(sched) for _ in range(2)]
    for results, elapsed in rounds:
        assert results["refused"].error is ErrorKind.NETWORK
        assert results["refused"].message == "connection refused by 127.0.0.1"
        assert results["healthy"].ok and elapsed < BUDGET.connect_s + SLACK
    assert len(store.recent("refused")) == 2
    assert_every_request_stored(server, store)


async def test_tls_failure_sends_nothing(tmp_path: Path, run_fleet: Start, store: Store) -> None:
    plain, plain_path = run_fleet(sim("healthy"))
    cert, key = self_signed(tmp_path)
    profile = FleetProfile(api_key=FLEET_KEY, endpoints=[sim("selfsigned")])
    with FleetServer(profile, ssl_certfile=cert, ssl_keyfile=key) as tls:
        tls_path = tmp_path / "tls.yaml"
        tls_path.write_text(catalogue_yaml(profile, tls.base_url))
        endpoints = [*catalog_of(tls_path).enabled(), *catalog_of(plain_path).enabled()]
        env = plain.env()
        async with open_scheduler(endpoints, store, env, BUDGET, ScheduleSettings()) as sched:
            rounds = [await timed_round(sched) for _ in range(2)]
        assert tls.fleet.request_counts() == {"selfsigned": 0}  # the key never went out
        # The server itself is fine: a client that trusts this certificate gets an answer.
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as trusting:
            sched = Scheduler(endpoints[:1], store, trusting, env, BUDGET)
            trusted, _ = await timed_round(sched)
    assert trusted["selfsigned"].ok
    for results, elapsed in rounds:
        failed = results["selfsigned"]
        assert failed.error is ErrorKind.NETWORK
        assert failed.message.startswith("TLS failure with 127.0.0.1: ")
        assert "CERTIFICATE_VERIFY_FAILED" in failed.message
        assert results["healthy"].ok and elapsed < BUDGET.connect_s + SLACK
    assert_every_request_stored(plain, store)


async def test_slower_than_the_budget_under_load(run_fleet: Start, store: Store) -> None:
    slow = [sim(f"slow-{i}", ttft_ms={"mean": 30_000}) for i in range(24)]
    fast = [sim(f"fast-{i}") for i in range(4)]
    server, path = run_fleet(*slow, *fast)
    endpoints = catalog_of(path).enabled()
    # Fewer slots than endpoints: the fast ones queue behind slow ones for a while.
    settings = ScheduleSettings(concurrency=8)
    waves = math.ceil(len(endpoints) / settings.concurrency)
    async with open_scheduler(endpoints, store, server.env(), BUDGET, settings) as sched:
        results, elapsed = await timed_round(sched)
        for s in slow:
            behave(server, s.id, ttft_ms={"mean": 20})
        again, _ = await timed_round(sched)
    for s in slow:
        assert results[s.id].error is ErrorKind.TIMEOUT
        assert results[s.id].message == "no first token within 1.5 s"
    for f in fast:
        # Waiting for a slot is our delay, not the provider's: TTFT stays the provider's own.
        ttft = results[f.id].ttft_ms
        assert results[f.id].ok and ttft is not None and ttft < 1000
    assert elapsed < waves * BUDGET.first_token_s + SLACK
    assert all(r.ok for r in again.values())
    assert_every_request_stored(server, store)


def test_hostile_modes_are_all_exercised() -> None:
    """A new fleet mode needs a case here (or in a test above)."""
    covered = {c.profile["mode"] for c in CASES.values() if "mode" in c.profile}
    covered |= {"huge_chunk", "endless", "redirect", "normal", "raw"}  # raw: wire.py users
    assert set(get_args(Mode)) == covered
