"""Which endpoints may take a request now, best first, from the last ranking."""

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
from monitor.report import standings
from monitor.store import Store, as_utc

if TYPE_CHECKING:
    from monitor.router.app import RouterSettings


@dataclass(frozen=True)
class Snapshot:
    stats: list[EndpointStats]
    not_before: dict[str, datetime]  # Retry-After other processes stored
    at: datetime


class Picker:
    """Which endpoints may take a request now, best first, from the last ranking."""

    def __init__(self, endpoints: list[Endpoint], store: Store, env: Mapping[str, str],
                 settings: RouterSettings):  # fmt: skip
        self.endpoints, self.store, self.env, self.settings = endpoints, store, env, settings
        self.held: dict[str, datetime] = {}  # Retry-After learned from our own 429s
        self.snapshot = Snapshot([], {}, datetime.now(UTC))

    def refresh(self) -> None:
        """Blocking (SQL): run it in a worker thread."""
        stats = standings(self.endpoints, self.store, self.env, self.settings.window)
        states = self.store.states()
        not_before = {k: as_utc(s.not_before) for k, s in states.items() if s.not_before}
        self.snapshot = Snapshot(stats, not_before, datetime.now(UTC))

    def hold(self, endpoint_id: str, seconds: float | None) -> None:
        wait = self.settings.hold_s if seconds is None else seconds
        self.held[endpoint_id] = datetime.now(UTC) + timedelta(seconds=wait)

    def choose(self, tools: bool) -> tuple[list[EndpointStats], dict[str, str]]:
        """Usable endpoints best first, and why each other one is skipped."""
        now = datetime.now(UTC)
        usable: list[EndpointStats] = []
        skipped: dict[str, str] = {}
        for stats in self.snapshot.stats:
            reason = self._unusable(stats, tools, now)
            if reason:
                skipped[stats.id] = reason
            else:
                usable.append(stats)
        return usable, skipped

    def _unusable(self, s: EndpointStats, tools: bool, now: datetime) -> str:
        if s.state in UNUSABLE:
            return s.why
        known = [t for t in (self.held.get(s.id), self.snapshot.not_before.get(s.id)) if t]
        if not known and s.state is State.RATE_LIMITED and s.last_probe_at:
            # A stored 429 without Retry-After: rest a while, then try it again.
            known.append(s.last_probe_at + timedelta(seconds=self.settings.hold_s))
        until = max(known, default=now)
        if until > now:
            return f"rate-limited until {until:%H:%M:%S} UTC"
        if tools and s.tool_health is ToolHealth.BROKEN:
            return "tool calls broken, and this request carries tools"
        return ""
