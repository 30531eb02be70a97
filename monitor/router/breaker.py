"""A circuit breaker per endpoint, from the router's own traffic.

closed: requests flow; `threshold` failures in a row open it. open: no request until the
cooldown has passed, then half-open: one trial request at a time. A trial that succeeds closes
it (and resets the cooldown); one that fails opens it again for twice as long, up to a cap.
A 429 rests the endpoint for its Retry-After (or `hold_s`) whatever the state. The router heals
by itself: no prober has to run for an endpoint to be tried again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass
class Circuit:
    failures: int = 0  # in a row
    cooldown_s: float = 0.0  # the current open period (doubles on a failed trial)
    open_until: float | None = None  # monotonic; None = closed
    rest_until: float = 0.0  # a Retry-After, monotonic
    trial_until: float = 0.0  # a half-open trial is in flight until then
    last_failure: float | None = None
    last_success_at: datetime | None = None
    until_at: datetime | None = None  # wall clock of open_until / rest_until, for display
    why: str = ""


class Breakers:
    def __init__(
        self,
        threshold: int,
        cooldown_s: float,
        max_cooldown_s: float,
        hold_s: float,
        trial_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.threshold, self.cooldown_s, self.max_cooldown_s = threshold, cooldown_s, max_cooldown_s
        self.hold_s, self.trial_s, self.clock = hold_s, trial_s, clock
        self.circuits: dict[str, Circuit] = {}

    def _get(self, endpoint_id: str) -> Circuit:
        return self.circuits.setdefault(endpoint_id, Circuit(cooldown_s=self.cooldown_s))

    def state(self, endpoint_id: str) -> str:
        c = self.circuits.get(endpoint_id)
        if c is None or c.open_until is None:
            return "closed"
        return "open" if self.clock() < c.open_until else "half-open"

    def blocked(self, endpoint_id: str) -> str:
        """Why this endpoint may not take a request now ("" = it may)."""
        c = self.circuits.get(endpoint_id)
        if c is None:
            return ""
        now = self.clock()
        if now < c.rest_until:
            return f"rate-limited for {c.rest_until - now:.0f} s more ({c.why})"
        state = self.state(endpoint_id)
        if state == "open":
            assert c.open_until is not None
            return f"circuit open for {c.open_until - now:.0f} s more ({c.why})"
        if state == "half-open" and now < c.trial_until:
            return "circuit half-open: a trial request is under way"
        return ""

    def resting(self, endpoint_id: str) -> bool:
        c = self.circuits.get(endpoint_id)
        return c is not None and self.clock() < c.rest_until

    def begin(self, endpoint_id: str) -> None:
        """A request goes to the endpoint: when half-open, it is the one trial."""
        if self.state(endpoint_id) == "half-open":
            self._get(endpoint_id).trial_until = self.clock() + self.trial_s

    def success(self, endpoint_id: str) -> None:
        c = self._get(endpoint_id)
        c.failures, c.cooldown_s, c.open_until, c.trial_until = 0, self.cooldown_s, None, 0.0
        c.last_success_at = datetime.now(UTC)

    def failure(
        self,
        endpoint_id: str,
        why: str,
        rate_limited: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        c = self._get(endpoint_id)
        now = self.clock()
        c.last_failure, c.why, c.trial_until = now, why[:120], 0.0
        if rate_limited:
            wait = self.hold_s if retry_after_s is None else retry_after_s
            c.rest_until = now + wait
        else:
            c.failures += 1
            if self.state(endpoint_id) == "half-open":
                c.cooldown_s = min(c.cooldown_s * 2, self.max_cooldown_s)
            elif c.open_until is not None or c.failures < self.threshold:
                return  # still closed, or already open
            wait = c.cooldown_s
            c.open_until = now + wait
        c.until_at = datetime.now(UTC) + timedelta(seconds=wait)

    def recovered(self, endpoint_id: str, since: datetime | None) -> bool:
        """The router saw this endpoint answer after `since` (e.g. the ranking's last probe)."""
        c = self.circuits.get(endpoint_id)
        seen = c.last_success_at if c else None
        return seen is not None and (since is None or seen >= since)

    def least_recently_failed(self, endpoint_ids: list[str]) -> list[str]:
        """Order for a last resort: never failed here first, then the longest ago."""
        never = float("-inf")
        return sorted(endpoint_ids, key=lambda i: self._get(i).last_failure or never)

    def view(self, endpoint_id: str) -> dict[str, object]:
        """For /health and the store: state, failures in a row, until when it rests."""
        c = self.circuits.get(endpoint_id) or Circuit()
        state = "rate-limited" if self.resting(endpoint_id) else self.state(endpoint_id)
        view: dict[str, object] = {"state": state, "failures": c.failures}
        if state in ("open", "rate-limited") and c.until_at is not None:
            view["until"] = c.until_at.isoformat(timespec="seconds")
        if c.why:
            view["last_error"] = c.why
        return view

    def export(self) -> dict[str, str]:
        """Every known circuit as JSON text, for the store's key-value table."""
        return {i: json.dumps(self.view(i), sort_keys=True) for i in sorted(self.circuits)}
