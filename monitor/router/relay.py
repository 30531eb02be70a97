"""One upstream attempt and the stream handed on to the client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from monitor.catalog import Endpoint
from monitor.upstream.exchange import Exchange


@dataclass
class Attempt:
    """One upstream request: what it observed, and the open stream when it answered."""

    endpoint: Endpoint
    run: Exchange
    started_at: datetime
    secrets: list[str]
    response: httpx.Response | None = None
    chunks: AsyncIterator[bytes] | None = None  # the stream, continued after the first token
    head: bytes = b""  # what arrived before the answer could be handed on
    body: bytes | None = None  # a whole answer (JSON completion, or the request's own error)
    media: str = "application/json"  # the whole answer's content type
    done: bool = False  # the stream said [DONE]

    def feed(self, chunk: bytes) -> bool:
        """Parse the SSE lines in a chunk with the probe's own rules; True at [DONE]."""
        self.done = self.run.feed(chunk)
        return self.done

    async def close(self) -> None:
        if self.response is not None:
            await self.response.aclose()


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"
