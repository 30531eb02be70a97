"""When a probe's bytes arrived, and the decode speed those moments can honestly support.

Every moment is in `time.perf_counter()` seconds (the clock of t0). A moment is the arrival of
the read that delivered the bytes: the kernel's receive stamp when the connection has one
(`monitor.upstream.stamped`), else when the read returned, else when we parsed the bytes.
A read's stamp is when its *latest* bytes arrived (the kernel merges queued segments and keeps
the newest stamp), so every token a read carries had arrived by its moment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from monitor.core.models import Clock

# Decode speed is shown only when the stream gives it a real base (README, "Decode speed"):
MIN_DECODE_TOKENS = 8  # output tokens in the answer
MIN_DECODE_SPAN_S = 0.050  # between the first and the last token's arrival
MIN_DECODE_READS = 2  # distinct reads carrying tokens: one read has no span at all


class Arrival(NamedTuple):
    at: float  # time.perf_counter() seconds
    read: int  # which read on the connection delivered the bytes
    clock: Clock


@runtime_checkable
class Stamped(Protocol):
    """A network stream that knows when the bytes of its last read arrived."""

    @property
    def last_arrival(self) -> Arrival | None: ...


@dataclass
class Timeline:
    """The arrival moments of one exchange: headers, tokens, end."""

    stream: Stamped | None = None  # the connection's stamped stream, when it has one
    deliveries: int = 0  # chunks handed to the parser: the read count where nothing stamps
    delivered_at: float | None = None  # and when the latest one came
    first: Arrival | None = None
    answer: Arrival | None = None  # the first answer token (not reasoning)
    last: Arrival | None = None
    first_read_tokens: int = 0  # tokens the first token's read carried
    token_reads: int = 0  # distinct reads that carried tokens
    clocks: set[Clock] = field(default_factory=set)

    def delivered(self) -> None:
        """A chunk reached the parser: where no stream stamps reads, this is its arrival."""
        self.deliveries += 1
        self.delivered_at = time.perf_counter()

    def moment(self) -> Arrival:
        """When the bytes being handled now arrived."""
        arrival = self.stream.last_arrival if self.stream is not None else None
        if arrival is None:
            at = self.delivered_at if self.delivered_at is not None else time.perf_counter()
            arrival = Arrival(at, self.deliveries, Clock.MONOTONIC)
        self.clocks.add(arrival.clock)
        return arrival

    def token(self, answer: bool) -> Arrival:
        arrival = self.moment()
        if self.first is None:
            self.first = arrival
        if arrival.read == self.first.read:
            self.first_read_tokens += 1
        if self.last is None or arrival.read != self.last.read:
            self.token_reads += 1
        if answer and self.answer is None:
            self.answer = arrival
        self.last = arrival
        return arrival

    @property
    def clock(self) -> Clock:
        """The kernel clock only when every moment reported came from a kernel stamp."""
        return Clock.KERNEL if self.clocks == {Clock.KERNEL} else Clock.MONOTONIC

    def decode_speed(self, tokens: int | None, chunks: int) -> float | None:
        """(tokens - 1) / (t_last - t_first), or None when the stream gives no honest base.

        The tokens the first read carried had all arrived by t_first, so only the share of
        the stream that came in later reads is spread over the span; when the first read
        carried one token this is exactly the definition.
        """
        if not tokens or self.first is None or self.last is None:
            return None
        span = self.last.at - self.first.at
        if (
            tokens < MIN_DECODE_TOKENS
            or span < MIN_DECODE_SPAN_S
            or self.token_reads < MIN_DECODE_READS
            or chunks <= self.first_read_tokens
        ):
            return None
        later = (chunks - self.first_read_tokens) / (chunks - 1)
        return round((tokens - 1) * later / span, 2)
