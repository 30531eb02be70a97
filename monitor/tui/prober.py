"""The dashboard's prober, in a process of its own, so UI work never delays a measurement.

The dashboard starts `python -m monitor.tui.prober FD` with one end of a socket pair. The
child runs the scheduler and writes every probe to the store; the UI ranks from the store,
as `dashboard --no-probe` does. Over the socket go JSON lines: the child reports what it does
(ready, started, landed, skipped, error), the UI sends commands (probe now, check answers
now, pause, resume).
When the UI closes its end, the child stops; when the child dies, the UI says so.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import anyio
from anyio.abc import Process, UNIXSocketStream
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream

from monitor.catalog import Endpoint
from monitor.core.errors import MonitorError
from monitor.core.models import ProbeKind, ProbeResult, ProbeSettings
from monitor.scheduler import (
    Event,
    ProbeLanded,
    ProbeSkipped,
    ProbeStarted,
    Scheduler,
    ScheduleSettings,
    open_scheduler,
)
from monitor.store import Store

MAX_LINE = 16 << 20  # the first line carries the whole catalogue
STOP_S = 5.0  # how long a closed prober may take to leave before it is killed
OUTBOX = 10_000  # events the UI has not read yet; beyond it they are dropped (the store has all)
ReadEnded = (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError)


class ProberError(MonitorError):
    """The prober process could not start, or stopped."""


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


async def _read(channel: BufferedByteReceiveStream) -> dict[str, Any] | None:
    """The next message, or None when the other side has closed the channel."""
    try:
        message = json.loads(await channel.receive_until(b"\n", MAX_LINE))
    except ReadEnded:
        return None
    return message if isinstance(message, dict) else {}


# ---------------------------------------------------------------- the UI's side


@dataclass
class Prober:
    """The UI's handle on the prober process, with the scheduler's controls."""

    stream: UNIXSocketStream
    process: Process
    errors: IO[bytes]  # the child's stderr
    on_event: Callable[[Event], None]
    paused: bool = False
    in_flight: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.channel = BufferedByteReceiveStream(self.stream)
        self._commands, self._outgoing = anyio.create_memory_object_stream[bytes](100)

    def probe_now(self, endpoint_id: str | None = None) -> None:
        self._commands.send_nowait(_line({"probe_now": endpoint_id}))

    def quality_now(self, endpoint_id: str | None = None) -> None:
        self._commands.send_nowait(_line({"quality_now": endpoint_id}))

    def pause(self) -> None:
        self.paused = True
        self._commands.send_nowait(_line({"pause": True}))

    def resume(self) -> None:
        self.paused = False
        self._commands.send_nowait(_line({"pause": False}))

    async def ready(self, config: dict[str, Any]) -> None:
        await self.stream.send(_line(config))
        self._dispatch(await self._receive())

    async def run(self) -> None:
        """Relay events and commands until the prober stops (a ProberError) or we are
        cancelled."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._relay_commands)
            stopped = await self._relay_events()
            group.cancel_scope.cancel()
        raise stopped

    async def _relay_events(self) -> ProberError:
        try:
            while True:
                self._dispatch(await self._receive())
        except ProberError as exc:
            return exc

    async def _relay_commands(self) -> None:
        async for line in self._outgoing:
            try:
                await self.stream.send(line)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the prober is gone; _relay_events says why

    async def _receive(self) -> dict[str, Any]:
        message = await _read(self.channel)
        if message is None:
            with anyio.move_on_after(STOP_S):
                await self.process.wait()
            self.errors.seek(0)
            lines = self.errors.read().decode(errors="replace").strip().splitlines()
            why = f": {lines[-1][:300]}" if lines else ""
            raise ProberError(f"the prober stopped (exit code {self.process.returncode}){why}")
        return message

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "started" in message:
            self.in_flight.add(message["started"])
            self.on_event(ProbeStarted(message["started"], ProbeKind(message["kind"])))
        elif "landed" in message:
            result = ProbeResult.model_validate(message["landed"])
            self.in_flight.discard(result.endpoint_id)
            self.on_event(ProbeLanded(result))
        elif "skipped" in message:
            self.in_flight.discard(message["skipped"])
            self.on_event(ProbeSkipped(message["skipped"], message["reason"]))
        elif "error" in message:
            raise ProberError(message["error"])


@asynccontextmanager
async def open_prober(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    probe_settings: ProbeSettings,
    schedule: ScheduleSettings,
    on_event: Callable[[Event], None],
) -> AsyncIterator[Prober]:
    """Start the prober process; yields once it probes; stops it when the block ends."""
    if store.is_sqlite and store.path in (None, "", ":memory:"):
        raise ProberError("probing from the dashboard needs a store file; pass --db FILE")
    ours, theirs = socket.socketpair()
    with tempfile.TemporaryFile() as errors:
        try:
            process = await anyio.open_process(
                [sys.executable, "-m", "monitor.tui.prober", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the terminal is the UI's
                stderr=errors,  # a file: the child never blocks on it
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        stream = await UNIXSocketStream.from_socket(ours)
        try:
            prober = Prober(stream, process, errors, on_event)
            await prober.ready(
                {
                    "store": store.url,
                    "env": dict(env),
                    "endpoints": [e.model_dump(mode="json") for e in endpoints],
                    "probe": probe_settings.model_dump(mode="json"),
                    "schedule": schedule.model_dump(mode="json"),
                }
            )
            yield prober
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()  # the child sees the end of its channel and stops
                with anyio.move_on_after(STOP_S):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()


# ---------------------------------------------------------------- the prober's side


def _report(event: Event) -> dict[str, Any]:
    match event:
        case ProbeStarted(endpoint_id=endpoint_id, kind=kind):
            return {"started": endpoint_id, "kind": kind.value}
        case ProbeLanded(result=result):
            return {"landed": result.model_dump(mode="json")}
        case ProbeSkipped(endpoint_id=endpoint_id, reason=reason):
            return {"skipped": endpoint_id, "reason": reason}


def _message(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup):  # a task group's: say the first real error
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__


async def _send_all(pending: MemoryObjectReceiveStream[bytes], stream: UNIXSocketStream) -> None:
    async with pending:
        async for line in pending:
            try:
                await stream.send(line)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the UI is gone


async def _obey(channel: BufferedByteReceiveStream, scheduler: Scheduler) -> None:
    """Carry out the UI's commands until it closes the channel."""
    while (command := await _read(channel)) is not None:
        if "probe_now" in command:
            scheduler.probe_now(command["probe_now"])
        elif "quality_now" in command:
            scheduler.quality_now(command["quality_now"])
        elif command.get("pause"):
            scheduler.pause()
        elif "pause" in command:
            scheduler.resume()


async def serve(fd: int) -> None:
    """Probe as the UI's first message says, reporting on the channel, until it closes."""
    stream = await UNIXSocketStream.from_socket(fd)
    channel = BufferedByteReceiveStream(stream)
    outbox, pending = anyio.create_memory_object_stream[bytes](OUTBOX)

    def report(message: dict[str, Any]) -> None:
        # When the UI is not reading, or gone, drop it: the store has every probe anyway.
        with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError):
            outbox.send_nowait(_line(message))

    async with anyio.create_task_group() as group:
        group.start_soon(_send_all, pending, stream)
        with outbox:
            config = await _read(channel)
            if config is None:
                return
            try:
                store = await anyio.to_thread.run_sync(Store, config["store"])
                endpoints = [Endpoint.model_validate(e) for e in config["endpoints"]]
                probe_settings = ProbeSettings.model_validate(config["probe"])
                schedule = ScheduleSettings.model_validate(config["schedule"])
                try:
                    async with open_scheduler(
                        endpoints,
                        store,
                        config["env"],
                        probe_settings,
                        schedule,
                        lambda event: report(_report(event)),
                    ) as scheduler:
                        report({"ready": True})
                        async with anyio.create_task_group() as probing:
                            probing.start_soon(scheduler.run)
                            await _obey(channel, scheduler)
                            probing.cancel_scope.cancel()
                finally:
                    store.close()
            except Exception as exc:
                report({"error": _message(exc)})


if __name__ == "__main__":
    anyio.run(serve, int(sys.argv[1]))
