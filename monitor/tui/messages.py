"""What flows from the app's workers to the app and its screens: one message type per event,
so nothing dispatches on a worker's group name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


class StatsReady(Message):
    """A recomputed ranking (`snapshot` None: reading the store failed, `error` says why)."""

    def __init__(self, snapshot: Snapshot | None, error: str = "") -> None:
        super().__init__()
        self.snapshot = snapshot
        self.error = error


class Exported(Message):
    """An export was written (`result` is an export.ExportResult)."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


class UndoOffered(Message):
    """The newest undoable export on disk (`record` None: there is none)."""

    def __init__(self, record: Any) -> None:
        super().__init__()
        self.record = record


class Undone(Message):
    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


class Failed(Message):
    """A background job failed; `what` names it for the notification's title."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.what = what
        self.message = str(error) or type(error).__name__
