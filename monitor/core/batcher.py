"""Coalescing concurrent calls into one batch run in a worker thread (the store's writes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Coalesce concurrent calls into one call of `fn(items)` in a worker thread.

    While one batch is being written, new items queue; when it is done, every waiter wakes at
    once and the first still waiting writes the next batch. With 1,000 probes landing together
    this is a handful of transactions, not 1,000, and no waiter is released one at a time.
    """

    def __init__(self, fn: Callable[[list[T]], list[R]]):
        self.fn = fn
        self.queue: list[_Slot[T, R]] = []
        self.writing: anyio.Event | None = None  # set when the batch being written is done

    async def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        self.queue.append(slot)
        while not slot.done:
            if self.writing is not None:
                await self.writing.wait()
            else:
                await self._write_batch()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    async def _write_batch(self) -> None:
        self.writing = writing = anyio.Event()
        batch, self.queue = self.queue, []
        try:
            # Shielded: a batch taken from the queue is written whole, whoever is cancelled.
            with anyio.CancelScope(shield=True):
                results = await anyio.to_thread.run_sync(self.fn, [s.item for s in batch])
        except Exception as exc:
            for s in batch:
                s.error, s.done = exc, True
        else:
            for s, result in zip(batch, results, strict=True):
                s.result, s.done = result, True
        finally:
            self.writing = None
            writing.set()


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: Exception | None = None
