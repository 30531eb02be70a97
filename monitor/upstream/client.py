"""The one shared HTTP client and bounded reads of a response body."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence

import httpx

from monitor.core.models import ProbeSettings
from monitor.upstream.stamped import stamped_transport

POOL_CONNECTIONS = 64  # endpoints per connection pool (see ShardedTransport)


def make_client(
    settings: ProbeSettings,
    max_connections: int = 1000,
    kernel_stamps: bool = True,
    spread: bool = False,
) -> httpx.AsyncClient:
    """The one shared client: keep-alive like a coding tool, no redirects followed; reads
    carry the kernel's receive stamps where the platform has them (`kernel_stamps`).
    `spread`: many requests at once to the same endpoint (the router) share out the pools."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=120,
    )
    context = httpx.create_ssl_context()  # loads the CA bundle once, for every pool
    pools = [
        (stamped_transport(limits, context) if kernel_stamps else None)
        or httpx.AsyncHTTPTransport(limits=limits, verify=context)
        for _ in range(math.ceil(max_connections / POOL_CONNECTIONS))
    ]
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=settings.connect_s,
            read=settings.first_token_s,
            write=settings.connect_s,
            pool=settings.total_s,
        ),
        limits=limits,
        transport=pools[0] if len(pools) == 1 else ShardedTransport(pools, spread),
        follow_redirects=False,
    )


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several connection pools, each endpoint always in the same one. httpcore scans every
    connection of a pool for each request and each response closed (for each idle connection,
    all of them again): with one pool of 1,000 connections that scan was a third of a round's
    CPU, and with 50 streams to one endpoint it was 18% of the router's.

    `spread`: a request goes to the pool with the fewest responses open (the first of equals,
    so requests one after another keep reusing one connection)."""

    def __init__(self, pools: Sequence[httpx.AsyncBaseTransport], spread: bool = False):
        self.pools = pools
        self.open = [0] * len(pools) if spread else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.open is not None:
            return await self._spread(request, self.open)
        # The URL up to its last segment names the endpoint (its base_url).
        url = request.url
        endpoint = (url.scheme, url.host, url.port, url.path.rpartition("/")[0])
        pool = self.pools[hash(endpoint) % len(self.pools)]
        return await pool.handle_async_request(request)

    async def _spread(self, request: httpx.Request, open_: list[int]) -> httpx.Response:
        index = open_.index(min(open_))
        open_[index] += 1
        try:
            response = await self.pools[index].handle_async_request(request)
        except BaseException:
            open_[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, open_, index)
        return response

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response's body that counts itself out of its pool's open responses when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, open_: list[int], index: int):
        self.stream, self.open, self.index = stream, open_, index

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.stream.__aiter__()

    async def aclose(self) -> None:
        if self.index >= 0:
            self.open[self.index] -= 1
            self.index = -1
        await self.stream.aclose()


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])
