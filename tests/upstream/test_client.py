"""How the shared client shares its connection pools out."""

from __future__ import annotations

import anyio
import httpx

from monitor.upstream.client import ShardedTransport


class Pool(httpx.AsyncBaseTransport):
    """Answers at once and says which pool it is."""

    def __init__(self, index: int):
        self.index = index

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(str(self.index).encode()))


def test_spread_goes_to_the_pool_with_fewest_open_responses() -> None:
    async def main() -> None:
        transport = ShardedTransport([Pool(i) for i in range(4)], spread=True)
        async with httpx.AsyncClient(transport=transport) as client:

            async def hold() -> httpx.Response:
                return await client.send(client.build_request("GET", "http://a/v1/x"), stream=True)

            # One after another: always the first pool (its connection is reused).
            assert [(await client.get("http://a/v1/x")).content for _ in range(3)] == [b"0"] * 3
            held = [await hold() for _ in range(3)]
            assert transport.open == [1, 1, 1, 0]
            await held[1].aclose()
            held[1] = await hold()  # the freed pool first
            assert transport.open == [1, 1, 1, 0]
            assert await held[1].aread() == b"1"
            for response in held:
                await response.aclose()
            assert transport.open == [0, 0, 0, 0]

    anyio.run(main)


def test_without_spread_each_endpoint_keeps_its_pool() -> None:
    async def main() -> None:
        transport = ShardedTransport([Pool(i) for i in range(4)])
        async with httpx.AsyncClient(transport=transport) as client:
            held = [await client.send(client.build_request("GET", "http://a/v1/x"), stream=True)
                    for _ in range(3)]  # fmt: skip
            assert len({await r.aread() for r in held}) == 1

    anyio.run(main)
