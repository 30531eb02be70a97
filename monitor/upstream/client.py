"""The one shared HTTP client and bounded reads of a response body."""

from __future__ import annotations

import httpx

from monitor.core.models import ProbeSettings
from monitor.upstream.stamped import stamped_transport


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
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=settings.connect_s,
            read=settings.first_token_s,
            write=settings.connect_s,
            pool=settings.total_s,
        ),
        limits=limits,
        transport=stamped_transport(limits) if kernel_stamps else None,
        follow_redirects=False,
    )


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])
