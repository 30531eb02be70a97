"""Helpers for hostile replies: SSE events, raw fleet endpoints, one probe round."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.core.models import ProbeResult, ProbeSettings
from monitor.scheduler import ScheduleSettings, open_scheduler
from monitor.sim.fleet import FleetServer, SimEndpoint
from monitor.store import Store
from tests.helpers import catalog_of, sim

Start = Callable[..., tuple[FleetServer, Path]]
BUDGET = ProbeSettings(connect_s=2, first_token_s=3, total_s=5)


def event(data: Any, end: str = "\n\n") -> str:
    return f"data: {json.dumps(data)}{end}"


def delta(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    fields = {"content": content} if content is not None else {}
    choice = {"index": 0, "delta": fields, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "choices": [choice], **extra}


def answer(*words: str) -> list[str]:
    """A healthy stream: one event per word, finish, [DONE]."""
    return [*(event(delta(w)) for w in words), event(delta(finish="stop")), "data: [DONE]\n\n"]


def raw(
    endpoint_id: str,
    chunks: list[str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **profile: Any,
) -> SimEndpoint:
    reply = {
        "status": status,
        "chunks": answer("Hi", " there") if chunks is None else chunks,
        "headers": {"content-type": "text/event-stream", **(headers or {})},
    }
    return sim(endpoint_id, mode="raw", raw=reply, **profile)


def error_body(message: Any, code: Any = None) -> list[str]:
    return [json.dumps({"error": {"message": message, "type": "x", "code": code}})]


async def one_round(
    run_fleet: Start, store: Store, *sims: SimEndpoint, settings: ProbeSettings = BUDGET
) -> dict[str, ProbeResult]:
    """One round over the sims plus a healthy neighbour, which must stay ok."""
    server, path = run_fleet(*sims, sim("healthy"))
    endpoints = catalog_of(path).enabled()
    async with open_scheduler(endpoints, store, server.env(), settings, ScheduleSettings()) as s:
        outcomes = await s.round()
    assert all(o.result is not None for o in outcomes), outcomes
    results = {o.endpoint_id: o.result for o in outcomes if o.result is not None}
    assert results["healthy"].ok, results["healthy"].message
    return results
