"""Request bodies: read within a cap per request and a cap shared by all clients at once,
then parsed with the depth limit every JSON we did not write gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request

from monitor.router.forward import Refusal
from monitor.upstream import bounds


class BodyBudget:
    """Bytes of request bodies held at once, across every client (one event loop: no lock)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    @contextmanager
    def hold(self) -> Iterator[list[int]]:
        """A request's share: what it takes is given back when the block ends."""
        taken = [0]
        try:
            yield taken
        finally:
            self.used -= taken[0]

    def take(self, taken: list[int], size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        taken[0] += size
        return True


async def read_json(
    request: Request, budget: BodyBudget, taken: list[int], max_bytes: int
) -> dict[str, Any] | Refusal:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > max_bytes:
            return Refusal(
                413,
                f"the request is over {max_bytes >> 20} MiB; send a shorter conversation",
                "request_too_large",
            )
        if not budget.take(taken, len(chunk)):
            return Refusal(
                503,
                f"the router already holds {budget.limit >> 20} MiB of other clients' requests; "
                "send this one again in a moment",
                "router_busy",
            )
    try:
        body = bounds.loads(bytes(data))
    except bounds.TooDeep as exc:
        return Refusal(400, f"the request body is {exc}; flatten it", "invalid_request")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Refusal(
            400,
            "the request body must be a JSON object, as for OpenAI's /v1/chat/completions",
            "invalid_request",
        )
    return body
