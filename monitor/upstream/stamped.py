"""An httpcore network backend whose reads carry the kernel's receive timestamp.

A probe's timings must not depend on when our event loop gets round to the bytes. Linux stamps
every received packet (SO_TIMESTAMPNS) and `recvmsg` hands that stamp over with the data, so a
read done late still says when its bytes reached the machine. TLS runs in memory on top
(ssl.MemoryBIO), so decrypted bytes carry the stamp of the raw read that delivered them.
Where the kernel refuses or sends no stamp, a read records when it returned ("monotonic").
Elsewhere than Linux `stamped_transport` returns None and httpx's own transport applies.
"""

# httpcore's stream and backend interface takes `timeout` arguments; we honour them.
# ruff: noqa: ASYNC109

from __future__ import annotations

import errno
import functools
import os
import platform
import select
import socket
import ssl
import struct
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import httpcore
import httpx

from monitor.core.models import Clock
from monitor.upstream.timing import Arrival

# Python's socket module does not name it; 35 is the asm-generic value, which these use.
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
GENERIC_SOCKET_ABI = {"x86_64", "aarch64", "arm64", "riscv64", "s390x", "ppc64le", "loongarch64"}
STAMPS_POSSIBLE = sys.platform == "linux" and platform.machine().lower() in GENERIC_SOCKET_ABI
TIMESPEC = struct.Struct("@ll")  # struct timespec: seconds, nanoseconds (CLOCK_REALTIME)
ANCILLARY_BYTES = socket.CMSG_SPACE(TIMESPEC.size) if STAMPS_POSSIBLE else 0
HEAD_START_S = 0.25  # happy eyeballs: each address's lead over the next (RFC 8305)
TLS_READ_BYTES = 65536

T = TypeVar("T")


@contextmanager
def _mapped(timeout: type[Exception], failure: type[Exception]) -> Iterator[None]:
    """Raise httpcore's exceptions, as its own backends do (httpx maps them on)."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc) or "timed out") from exc
    except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
        raise failure(str(exc) or type(exc).__name__) from exc


def enable_stamps(sock: socket.socket) -> bool:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


@functools.cache
def _keep_stamping_on() -> socket.socket:
    """Linux turns receive stamping on for the machine a moment after the first socket asks
    and off when the last one closes: packets in between carry no stamp. This socket, held
    for the life of the process, keeps it on between connections."""
    keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    enable_stamps(keeper)
    return keeper


def _realtime_to_perf_counter(realtime_ns: int) -> int:
    """The kernel stamps on CLOCK_REALTIME; t0 is on perf_counter: convert with the offset now,
    read between two perf_counter readings (the tightest of three: a preemption between the
    readings would otherwise shift every stamp of this read)."""
    brackets = []
    for _ in range(3):
        before, real, after = time.perf_counter_ns(), time.time_ns(), time.perf_counter_ns()
        brackets.append((after - before, real - (before + after) // 2))
    return realtime_ns - min(brackets)[1]


class StampedStream(httpcore.AsyncNetworkStream):
    """A TCP connection read with `recvmsg`: each read remembers when its bytes arrived."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.kernel = enable_stamps(sock)
        self.reads = 0
        self.last_arrival: Arrival | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError), anyio.fail_after(timeout):
            return await self.receive(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError), anyio.fail_after(timeout):
            await self.send(buffer)

    async def receive(self, max_bytes: int) -> bytes:
        while True:
            await anyio.wait_readable(self._sock)
            try:
                data, ancillary, _, _ = self._sock.recvmsg(max_bytes, ANCILLARY_BYTES)
            except BlockingIOError:
                continue  # a wake-up without data
            if data:
                self.reads += 1
                self.last_arrival = self._arrival(ancillary)
            return data

    def _arrival(self, ancillary: list[tuple[int, int, bytes]]) -> Arrival:
        returned = time.perf_counter_ns()
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = TIMESPEC.unpack_from(data)
                stamp = _realtime_to_perf_counter(seconds * 1_000_000_000 + nanoseconds)
                # A wall-clock step must not put an arrival after the read that saw it.
                return Arrival(min(stamp, returned) / 1e9, self.reads, Clock.KERNEL)
        return Arrival(returned / 1e9, self.reads, Clock.MONOTONIC)

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self._sock)
                continue
            view = view[sent:]

    async def aclose(self) -> None:
        if self._sock.fileno() != -1:
            anyio.notify_closing(self._sock)
            self._sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = TLSStream(self, ssl_context, server_hostname)
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError), anyio.fail_after(timeout):
                await tls.drive(tls.ssl_object.do_handshake)
        except BaseException:
            await self.aclose()
            raise
        return tls

    def get_extra_info(self, info: str) -> Any:
        if self._sock.fileno() == -1:
            return True if info == "is_readable" else None  # closed: httpcore must not reuse it
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":  # an idle kept-alive connection the server closed
            poller = select.poll()
            poller.register(self._sock, select.POLLIN)
            return bool(poller.poll(0))
        return None


class TLSStream(httpcore.AsyncNetworkStream):
    """TLS in memory over a StampedStream: plaintext keeps the stamp of its raw read."""

    def __init__(self, raw: StampedStream, context: ssl.SSLContext, hostname: str | None) -> None:
        self._raw = raw
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=hostname
        )

    @property
    def last_arrival(self) -> Arrival | None:
        return self._raw.last_arrival

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError), anyio.fail_after(timeout):
            try:
                return await self.drive(self.ssl_object.read, max_bytes)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""  # the peer closed, with or without close_notify: end of stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError), anyio.fail_after(timeout):
            await self.drive(self.ssl_object.write, buffer)

    async def aclose(self) -> None:
        await self._raw.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self.ssl_object if info == "ssl_object" else self._raw.get_extra_info(info)

    async def drive(self, operation: Callable[..., T], *args: Any) -> T:
        """Run one SSLObject operation, moving ciphertext between memory and the socket."""
        while True:
            try:
                result = operation(*args)
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self._raw.receive(TLS_READ_BYTES)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            await self._flush()
            return result

    async def _flush(self) -> None:
        if self._outgoing.pending:
            await self._raw.send(self._outgoing.read())


class StampedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        _keep_stamping_on()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError), anyio.fail_after(timeout):
            sock = await _connect(host, port, local_address)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does
                for option in socket_options or ():
                    sock.setsockopt(*option)
            except OSError:
                sock.close()
                raise
        return StampedStream(sock)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A local socket has no network delay to stamp."""
        return await httpcore.AnyIOBackend().connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


async def _connect(host: str, port: int, local_address: str | None) -> socket.socket:
    """A connected non-blocking socket; addresses are tried in turn, each with a head start."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    won: list[socket.socket] = []
    failures: list[OSError] = []

    async def attempt(family: int, address: Any, failed: anyio.Event) -> None:
        try:
            sock = await _connect_one(family, address, local_address)
        except OSError as exc:
            failures.append(exc)
            failed.set()
            return
        if won:
            sock.close()
            return
        won.append(sock)
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        for family, _, _, _, address in infos:
            failed = anyio.Event()
            group.start_soon(attempt, family, address, failed)
            with anyio.move_on_after(HEAD_START_S):
                await failed.wait()
    if won:
        return won[0]
    raise failures[-1] if failures else OSError(errno.EHOSTUNREACH, f"no address for {host}")


async def _connect_one(family: int, address: Any, local_address: str | None) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if local_address:
            sock.bind((local_address, 0))
        code = sock.connect_ex(address)
        if code == errno.EINPROGRESS:
            await anyio.wait_writable(sock)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))  # the errno's own subclass, e.g. refused
    except BaseException:
        sock.close()
        raise
    return sock


def stamped_transport(
    limits: httpx.Limits, ssl_context: ssl.SSLContext
) -> httpx.AsyncHTTPTransport | None:
    """httpx's transport over StampedBackend; None where the kernel gives no stamps."""
    if not STAMPS_POSSIBLE:
        return None
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context)
    # httpx does not pass a network backend through; the connection pool it wraps takes one.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=StampedBackend(),
    )
    return transport
