"""When to probe what: cadence, jitter, the concurrency cap, quota budgets and backoff.

The only module that decides *when*. Each endpoint gets its own loop (so at most one probe of
it is ever in flight), all loops share one concurrency limiter, and every probe first takes a
slot from the store's shared budget, so several processes never overspend a free tier.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, Field

from monitor.catalog import Endpoint, resolve
from monitor.core import crash
from monitor.core.batcher import Batcher
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings
from monitor.store import Claim, Finished, Grant, Store, StoreError

if TYPE_CHECKING:
    import httpx


class ScheduleSettings(BaseModel):
    interval_s: float = Field(default=60.0, gt=0, description="base cadence of chat probes")
    tools_every: int = Field(default=10, ge=1, description="one tool-call probe per N probes")
    quality_every: int = Field(default=10, ge=0, description="one quality probe per N; 0: never")
    quality_tight: bool = Field(default=False, description="quality probes on tight budgets too")
    budget_fraction: float = Field(default=0.05, gt=0, le=1)
    # Enough for a whole round of a large catalogue to start at once.
    concurrency: int = Field(default=256, ge=1)
    jitter: float = Field(default=0.1, ge=0, lt=1)
    max_backoff_s: float = Field(default=1800.0, gt=0)
    prober: str = Field(default_factory=socket.gethostname, max_length=64)
    region: str | None = Field(default=None, max_length=64)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class ProbeStarted:
    endpoint_id: str
    kind: ProbeKind


@dataclass(frozen=True)
class ProbeLanded:
    result: ProbeResult


@dataclass(frozen=True)
class ProbeSkipped:
    endpoint_id: str
    reason: str


Event = ProbeStarted | ProbeLanded | ProbeSkipped


# ---------------------------------------------------------------- budget arithmetic


def budget_limits(endpoint: Endpoint, fraction: float) -> tuple[tuple[int, int], ...]:
    """(window seconds, max probes) for the share of the provider's quota probes may spend."""
    quota = endpoint.quota
    if quota is None:
        return ()
    pairs = ((60, quota.rpm), (3600, quota.rph), (86400, quota.rpd))
    return tuple((window, max(1, math.floor(n * fraction))) for window, n in pairs if n)


# A budget that allows no more than one probe every 10 minutes is tight: one quality probe in
# 10 would take a chat probe's slot every ~2 hours and need days to judge the answers.
TIGHT_INTERVAL_S = 600.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tight(endpoint: Endpoint, settings: ScheduleSettings) -> bool:
    """Too small a budget to spend on quality probes unless asked (`quality_tight`)."""
    return min_interval(endpoint, settings) > TIGHT_INTERVAL_S


def min_interval(endpoint: Endpoint, settings: ScheduleSettings) -> float:
    """Spread the budget evenly instead of spending it all in the first minutes of a day."""
    interval = settings.interval_s
    for window, limit in budget_limits(endpoint, settings.budget_fraction):
        interval = max(interval, window / limit)
    return interval


# ---------------------------------------------------------------- the scheduler


NO_KEY_PREFIX = "no key"  # how a skip for a missing key begins


@dataclass
class Outcome:
    endpoint_id: str
    kind: ProbeKind = ProbeKind.CHAT
    result: ProbeResult | None = None
    skipped: str = ""
    consecutive_failures: int = 0

    @property
    def no_key(self) -> bool:
        return self.skipped.startswith(NO_KEY_PREFIX)


@dataclass
class Scheduler:
    endpoints: Sequence[Endpoint]
    store: Store
    client: httpx.AsyncClient
    env: Mapping[str, str]
    probe_settings: ProbeSettings = field(default_factory=ProbeSettings)
    settings: ScheduleSettings = field(default_factory=ScheduleSettings)
    on_event: Callable[[Event], None] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.limiter = anyio.CapacityLimiter(self.settings.concurrency)
        self.in_flight: set[str] = set()
        self.running = anyio.Event()
        self.running.set()
        self._wake: dict[str, anyio.Event] = {}
        self._reserve: Batcher[Claim, Grant] = Batcher(self.store.reserve)
        self._finish: Batcher[Finished, None] = Batcher(self.store.finish)
        self._quality_asked: set[str] = set()  # their next probe is a quality one
        self._quality_done: dict[str, int] | None = None  # quality probes so far, per endpoint
        self._quality_lock = anyio.Lock()

    # -- control (called from the same event loop, e.g. by the dashboard)

    @property
    def paused(self) -> bool:
        return not self.running.is_set()

    def pause(self) -> None:
        if self.running.is_set():
            self.running = anyio.Event()

    def resume(self) -> None:
        self.running.set()

    def probe_now(self, endpoint_id: str | None = None) -> None:
        """Wake one endpoint's loop (or all): it probes at once, budget permitting."""
        for key, wake in self._wake.items():
            if endpoint_id in (None, key):
                wake.set()

    def quality_now(self, endpoint_id: str | None = None) -> None:
        """One quality probe of one endpoint (or all) at once, budget permitting, tight or not."""
        self._quality_asked |= {e.id for e in self.endpoints if endpoint_id in (None, e.id)}
        self.probe_now(endpoint_id)

    # -- modes

    async def run(self) -> None:
        """Probe every endpoint on its own cadence until cancelled."""
        async with anyio.create_task_group() as group:
            for endpoint in self.endpoints:
                group.start_soon(self._loop, endpoint)

    async def round(
        self,
        kinds: Sequence[ProbeKind] = (ProbeKind.CHAT,),
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """One probe of each kind for every endpoint, all in parallel; the cron mode.
        `on_outcome` hears of each as it lands (a live display)."""
        outcomes: list[Outcome] = []

        async def one(endpoint: Endpoint) -> None:
            for kind in kinds:
                outcome = await self._isolated(endpoint, kind)
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
                if outcome.no_key:
                    break

        async with anyio.create_task_group() as group:
            for endpoint in self.endpoints:
                group.start_soon(one, endpoint)
        order = {e.id: i for i, e in enumerate(self.endpoints)}
        outcomes.sort(key=lambda o: order[o.endpoint_id])
        return outcomes

    async def _loop(self, endpoint: Endpoint) -> None:
        self._wake[endpoint.id] = anyio.Event()
        # Stagger the first probes so 200 endpoints do not all fire in the same millisecond.
        await self._sleep(endpoint.id, self.rng.uniform(0, min(2.0, self.settings.interval_s)))
        count = 0
        while True:
            await self.running.wait()
            outcome = await self._isolated(endpoint, self.kind_for(endpoint, count))
            count += 1
            await self._sleep(endpoint.id, self._delay(endpoint, outcome))

    def kind_for(self, endpoint: Endpoint, count: int) -> ProbeKind:
        """The second probe checks tool calls early; then one in every `tools_every`. The
        last of every `quality_every` checks an answer, unless the budget is tight."""
        s = self.settings
        if endpoint.id in self._quality_asked:
            self._quality_asked.discard(endpoint.id)
            return ProbeKind.QUALITY
        if count > 0 and count % s.tools_every == 1 % s.tools_every:
            return ProbeKind.TOOLS
        quality = s.quality_every > 0 and count % s.quality_every == s.quality_every - 1
        if quality and (s.quality_tight or not tight(endpoint, s)):
            return ProbeKind.QUALITY
        return ProbeKind.CHAT

    async def _sleep(self, endpoint_id: str, seconds: float) -> None:
        wake = self._wake[endpoint_id] = anyio.Event()
        if endpoint_id in self._quality_asked:  # asked while its last probe was in flight
            return
        with anyio.move_on_after(seconds):
            await wake.wait()

    def _delay(self, endpoint: Endpoint, outcome: Outcome) -> float:
        base = min_interval(endpoint, self.settings)
        result = outcome.result
        if result is None:
            delay = base
            if outcome.no_key:
                delay = self.settings.max_backoff_s
        elif result.ok:
            delay = base
        elif result.error is ErrorKind.RATE_LIMITED and result.retry_after_s:
            delay = max(base, result.retry_after_s)
        else:
            # Back off exponentially, but keep probing slowly so recovery is seen.
            failures = min(outcome.consecutive_failures, 6)
            delay = min(base * 2 ** max(failures - 1, 0), self.settings.max_backoff_s)
            delay = max(delay, base)
        return delay * self.rng.uniform(1 - self.settings.jitter, 1 + self.settings.jitter)

    async def _isolated(self, endpoint: Endpoint, kind: ProbeKind) -> Outcome:
        """probe_one, with our own bugs contained to this endpoint (a store that cannot be
        written is the user's to fix, and stops everything with its own message)."""
        try:
            return await self.probe_one(endpoint, kind)
        except StoreError:
            raise
        except Exception as exc:
            why = await anyio.to_thread.run_sync(crash.record, exc, f"scheduling {endpoint.id}")
            self._emit(ProbeSkipped(endpoint.id, why))
            return Outcome(endpoint.id, kind, skipped=why)

    async def probe_one(self, endpoint: Endpoint, kind: ProbeKind = ProbeKind.CHAT) -> Outcome:
        """Probe one endpoint now if its key, Retry-After and budget allow; store the result."""
        if endpoint.id in self.in_flight:
            return Outcome(endpoint.id, kind, skipped="a probe of it is already in flight")
        creds = resolve(endpoint, self.env)
        if creds.missing:
            reason = f"{NO_KEY_PREFIX}: set {' and '.join(creds.missing)}"
            self._emit(ProbeSkipped(endpoint.id, reason))
            return Outcome(endpoint.id, kind, skipped=reason)
        self.in_flight.add(endpoint.id)
        try:
            claim = Claim(
                endpoint_id=endpoint.id,
                kind=kind.value,
                prober=self.settings.prober,
                started_at=datetime.now(UTC),
                limits=budget_limits(endpoint, self.settings.budget_fraction),
            )
            grant = await self._reserve.submit(claim)
            if grant.probe_id is None:
                self._emit(ProbeSkipped(endpoint.id, grant.refused))
                return Outcome(endpoint.id, kind, skipped=grant.refused)
            counter = await self._quality_counter(endpoint.id) if kind is ProbeKind.QUALITY else 0
            async with self.limiter:
                self._emit(ProbeStarted(endpoint.id, kind))
                result = await self._probe(endpoint, kind, counter)
            failures = 0 if result.ok else grant.consecutive_failures + 1
            await self._finish.submit(
                Finished(grant.probe_id, result, self._not_before(endpoint, result, failures))
            )
            self._emit(ProbeLanded(result))
            return Outcome(endpoint.id, kind, result=result, consecutive_failures=failures)
        finally:
            self.in_flight.discard(endpoint.id)

    async def _probe(self, endpoint: Endpoint, kind: ProbeKind, counter: int) -> ProbeResult:
        """The probe itself; an unexpected error in it is this probe's failure, `internal`,
        so the round goes on and the reserved row is finished like any other."""
        # Imported here: the dashboard's UI reads this module's settings and events and never
        # probes (its prober is another process), so it does without httpx (~0.1 s of start-up).
        from monitor.probe import probe

        started_at = datetime.now(UTC)
        try:
            return await probe(self.client, endpoint, self.env, self.probe_settings, kind, counter)
        except Exception as exc:
            why = await anyio.to_thread.run_sync(crash.record, exc, f"probing {endpoint.id}")
            return ProbeResult(
                endpoint_id=endpoint.id, kind=kind, started_at=started_at, ok=False,
                error=ErrorKind.INTERNAL, message=why,
            )  # fmt: skip

    async def _quality_counter(self, endpoint_id: str) -> int:
        """How many quality probes of this endpoint came before (so the bank rotates across
        runs): the store's count, read once, then counted here."""
        async with self._quality_lock:
            if self._quality_done is None:
                counts = await anyio.to_thread.run_sync(self.store.quality_counts, EPOCH)
                self._quality_done = {key: total for key, (_, total) in counts.items()}
        done = self._quality_done.get(endpoint_id, 0)
        self._quality_done[endpoint_id] = done + 1
        return done

    def _not_before(
        self, endpoint: Endpoint, result: ProbeResult, failures: int
    ) -> datetime | None:
        """After a 429, no process probes this endpoint again before Retry-After has passed."""
        if result.error is not ErrorKind.RATE_LIMITED:
            return None
        wait = result.retry_after_s
        if wait is None:
            wait = min(min_interval(endpoint, self.settings) * 2**failures, 3600)
        return datetime.now(UTC) + timedelta(seconds=wait)

    def _emit(self, event: Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception as exc:  # a display that fails must not stop the probing it shows
            crash.record(exc, f"showing {type(event).__name__}")


@asynccontextmanager
async def open_scheduler(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    probe_settings: ProbeSettings,
    settings: ScheduleSettings,
    on_event: Callable[[Event], None] | None = None,
) -> AsyncIterator[Scheduler]:
    """A scheduler with its own shared HTTP client, closed when the block ends."""
    from monitor.upstream.client import make_client  # see _probe

    async with anyio.create_task_group() as group:
        register = store.register_prober
        group.start_soon(anyio.to_thread.run_sync, register, settings.prober, settings.region)
        # Loading the CA bundle takes a while: in a thread, beside the store's write.
        client = await anyio.to_thread.run_sync(make_client, probe_settings, settings.concurrency)
    async with client:
        yield Scheduler(endpoints, store, client, env, probe_settings, settings, on_event)
