"""What flows from the app's workers to the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from monitor.core.models import EndpointStats
from monitor.scheduler import Event


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Ranked stats for every enabled endpoint, as of `now`, over `window`."""

    stats: list[EndpointStats]
    now: datetime
    window: str
    traffic: tuple[int, int] = (0, 0)  # the router's (answered, failed) upstream attempts
    held: tuple[str, ...] = ()  # endpoints the router's circuit breakers hold back now


class ProbeEvent(Message):
    """Something the scheduler did: a probe started, landed, or was skipped."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
