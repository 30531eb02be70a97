"""Reading the router's translated streams in tests: `event:` / `data:` pairs."""

from __future__ import annotations

import json
from typing import Any


def parse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Every (event name, data) in an SSE body; the name must match the data's `type`."""
    found = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            data = json.loads(lines["data"])
            assert lines.get("event") == data["type"], block
            found.append((lines["event"], data))
    return found


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One chat-completion chunk as a provider streams it."""
    data: dict[str, Any] = {
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    }
    if usage is not None:
        data = {"choices": [], "usage": usage}
    return data


def tool_chunks(name: str, arguments: str, call_id: str = "call_9", index: int = 0) -> list[Any]:
    first = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    pieces = [arguments[i : i + 5] for i in range(0, len(arguments), 5)]
    return [chunk({"tool_calls": [first]})] + [
        chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]}) for p in pieces
    ]
