"""Mode `raw`: a reply given byte for byte by the profile, for hostile cases no other mode
covers (odd line endings, markup or escapes in messages, deep JSON, absurd headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse


class RawReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = {"content-type": "text/event-stream"}
    # Sent in order, each flushed on its own; text is UTF-8 (JSON escapes carry the odd bytes).
    chunks: list[str] = []
    gap_ms: float = Field(default=0, ge=0)  # between chunks


def raw_response(reply: RawReply) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for chunk in reply.chunks:
            yield chunk.encode("utf-8", "surrogatepass")
            await anyio.sleep(reply.gap_ms / 1000)

    return StreamingResponse(body(), status_code=reply.status, headers=reply.headers)
