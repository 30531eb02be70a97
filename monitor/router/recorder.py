"""Traffic samples: every forwarded request is stored like a probe, and the circuits' states
beside them (for the dashboard), written off the event loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import anyio

from monitor.core import crash
from monitor.core.models import (
    ErrorKind,
    ProbeResult,
)
from monitor.core.router_address import ROUTER_CIRCUITS as CIRCUITS
from monitor.store import Store, StoreError

log = logging.getLogger("oss-monitor.router")
GATHER_S = 0.5  # how long samples gather before they are written together


class Recorder:
    """Traffic samples, written in batches by a worker thread, never on the event loop."""

    def __init__(self, store: Store, prober: str, circuits: Callable[[], dict[str, str]]):
        self.store, self.prober, self.circuits = store, prober, circuits
        self.pending: list[ProbeResult] = []
        self.written: dict[str, str] = {}  # circuit states as last stored
        self.wake: anyio.Event | None = None

    def add(self, result: ProbeResult) -> None:
        self.pending.append(result)
        if self.wake is not None:
            self.wake.set()

    async def run(self) -> None:
        """Write what landed in the last moment, in one transaction; on shutdown, the rest."""
        try:
            while True:
                self.wake = anyio.Event()
                if not self.pending:
                    await self.wake.wait()
                # A transaction per sample or two kept the writer thread (and the GIL) at
                # 7.6% of the router's samples at 50 streams; one per half second, 3.5%.
                await anyio.sleep(GATHER_S)
                await self._flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush()

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
        changed = {k: v for k, v in self.circuits().items() if self.written.get(k) != v}
        if batch or changed:
            try:
                await anyio.to_thread.run_sync(self._write, batch, changed)
                self.written.update(changed)
            except StoreError as exc:
                log.warning("%d traffic samples were not stored: %s", len(batch), exc)
            except Exception as exc:  # our bug: lose this batch, keep recording
                why = await anyio.to_thread.run_sync(crash.record, exc, "storing traffic samples")
                log.error("%d traffic samples were not stored: %s", len(batch), why)

    def _write(self, batch: list[ProbeResult], circuits: dict[str, str]) -> None:
        if circuits:
            self.store.remember(CIRCUITS, circuits)
        if not batch:
            return
        self.store.add(batch, self.prober)
        # A Retry-After learnt from traffic holds for every prober sharing the store.
        for result in batch:
            if result.error is ErrorKind.RATE_LIMITED and result.retry_after_s:
                until = result.started_at + timedelta(seconds=result.retry_after_s)
                self.store.hold_off(result.endpoint_id, until)
