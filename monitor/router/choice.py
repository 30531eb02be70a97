"""Which endpoints may take a request now, best first: the last ranking and our circuits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.catalog import Endpoint
from monitor.core.models import (
    UNUSABLE,
    EndpointStats,
    State,
    ToolHealth,
)
from monitor.report import Kept, standings
from monitor.router.breaker import Breakers
from monitor.store import Store, as_utc

if TYPE_CHECKING:
    from monitor.router.app import RouterSettings


# The user's key or catalogue, not the provider: no request can change these. A provider
# that is down stays a last resort (the breaker decides), unlike for an export.
LOCKED_OUT = UNUSABLE - {State.DOWN}


@dataclass(frozen=True)
class Snapshot:
    stats: list[EndpointStats]
    not_before: dict[str, datetime]  # Retry-After other processes stored
    at: datetime


@dataclass(frozen=True)
class Choice:
    usable: list[EndpointStats]  # best first
    skipped: dict[str, str]  # endpoint id -> why not
    last_resort: bool = False  # nothing was healthy: these are the least recently failed


class Picker:
    """Which endpoints may take a request now: the last ranking, and the router's own circuits."""

    def __init__(self, endpoints: list[Endpoint], store: Store, env: Mapping[str, str],
                 settings: RouterSettings):  # fmt: skip
        self.endpoints, self.store, self.env, self.settings = endpoints, store, env, settings
        self.breakers = Breakers(
            threshold=settings.breaker_failures,
            cooldown_s=settings.breaker_cooldown_s,
            max_cooldown_s=settings.breaker_max_cooldown_s,
            hold_s=settings.hold_s,
            trial_s=settings.total_s,
        )
        self.snapshot = Snapshot([], {}, datetime.now(UTC))
        # Refreshes run one at a time; each reads again only what changed since the last one
        # (with an hour of probes stored, a full read took ~0.45 s every refresh).
        self.kept = Kept(store)

    def refresh(self) -> None:
        """Blocking (SQL): run it in a worker thread."""
        stats = standings(
            self.endpoints, self.store, self.env, self.settings.window, kept=self.kept
        )
        states = self.store.states()
        not_before = {k: as_utc(s.not_before) for k, s in states.items() if s.not_before}
        self.snapshot = Snapshot(stats, not_before, datetime.now(UTC))

    def choose(self, tools: bool) -> Choice:
        """Usable endpoints best first, and why each other one is skipped. With none usable,
        the ones only our circuits or a failed last sample hold back, least recently failed
        first: the fleet may be back, and only a request can tell."""
        now = datetime.now(UTC)
        usable: list[EndpointStats] = []
        skipped: dict[str, str] = {}
        resort: dict[str, EndpointStats] = {}
        for stats in self.snapshot.stats:
            reason, retry = self._unusable(stats, tools, now)
            if not reason:
                usable.append(stats)
                continue
            skipped[stats.id] = reason
            if retry:
                resort[stats.id] = stats
        if usable or not resort:
            return Choice(usable, skipped)
        order = self.breakers.least_recently_failed(list(resort))
        return Choice([resort[i] for i in order], skipped, last_resort=True)

    def _unusable(self, s: EndpointStats, tools: bool, now: datetime) -> tuple[str, bool]:
        """Why not now ("" = usable), and whether it may still be tried as a last resort."""
        if s.state in LOCKED_OUT:
            return s.why, False
        if tools and s.tool_health is ToolHealth.BROKEN:
            return "tool calls broken, and this request carries tools", False
        if self.breakers.resting(s.id):
            return self.breakers.blocked(s.id), False
        known = [t for t in (self.snapshot.not_before.get(s.id),) if t]
        if not known and s.state is State.RATE_LIMITED and s.last_probe_at:
            # A stored 429 without Retry-After: rest a while, then try it again.
            known.append(s.last_probe_at + timedelta(seconds=self.settings.hold_s))
        until = max(known, default=now)
        if until > now:
            return f"rate-limited until {until:%H:%M:%S} UTC", False
        if blocked := self.breakers.blocked(s.id):
            return blocked, True
        if s.state is State.DOWN and not self.breakers.recovered(s.id, s.last_probe_at):
            return s.why, True
        return "", False
