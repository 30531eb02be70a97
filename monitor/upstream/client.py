"""The one shared HTTP client and bounded reads of a response body."""

from __future__ import annotations

import math
from collections.abc import Sequence

import httpx

from monitor.core.models import ProbeSettings
from monitor.upstream.stamped import stamped_transport

POOL_CONNECTIONS = 64  # endpoints per connection pool (see ShardedTransport)


def make_client(
    settings: ProbeSettings, max_connections: int = 1000, kernel_stamps: bool = True
) -> httpx.AsyncClient:
    """The one shared client: keep-alive like a coding tool, no redirects followed; reads
    carry the kernel's receive stamps where the platform has them (`kernel_stamps`)."""
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
        transport=pools[0] if len(pools) == 1 else ShardedTransport(pools),
        follow_redirects=False,
    )


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several connection pools, each endpoint always in the same one. httpcore scans every
    connection of a pool for each request and each response closed: with one pool of 1,000
    connections that scan was a third of a round's CPU."""

    def __init__(self, pools: Sequence[httpx.AsyncBaseTransport]):
        self.pools = pools

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The URL up to its last segment names the endpoint (its base_url).
        url = request.url
        endpoint = (url.scheme, url.host, url.port, url.path.rpartition("/")[0])
        pool = self.pools[hash(endpoint) % len(self.pools)]
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])
