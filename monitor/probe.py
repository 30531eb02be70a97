"""One probe of one endpoint: a real streaming chat completion, timed and classified.

It knows nothing of scheduling or storage: `probe()` takes an endpoint and returns a
`ProbeResult`, whatever happens on the wire. The wire itself is upstream/'s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from monitor import quality
from monitor.catalog import Endpoint, resolve
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings, QualityItem
from monitor.upstream.classify import ProbeFailure
from monitor.upstream.dialects import build_request
from monitor.upstream.exchange import Exchange, read_head, read_stream

TOOL_NAME = "get_weather"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def payload(kind: ProbeKind, settings: ProbeSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": settings.max_tokens,
        "reasoning_effort": "low",
    }
    if kind is ProbeKind.TOOLS:
        prompt = "What is the weather in Paris right now? Use the get_weather tool."
        body["tools"] = TOOLS
        body["tool_choice"] = "auto"
        body["max_tokens"] = max(settings.max_tokens, 256)
    else:
        prompt = settings.prompt
    body["messages"] = [{"role": "user", "content": prompt}]
    return body


async def probe(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    env: Mapping[str, str],
    settings: ProbeSettings,
    kind: ProbeKind = ProbeKind.CHAT,
    counter: int = 0,
) -> ProbeResult:
    """`counter`: how many quality probes of this endpoint came before (picks the bank item)."""
    started_at = datetime.now(UTC)
    creds = resolve(endpoint, env)
    if creds.missing:
        return ProbeResult(
            endpoint_id=endpoint.id,
            kind=kind,
            started_at=started_at,
            ok=False,
            error=ErrorKind.NO_KEY,
            message=f"set {' and '.join(creds.missing)} to probe this endpoint",
        )
    task = quality.pick(endpoint.id, counter) if kind is ProbeKind.QUALITY else None
    body = quality.payload(task, max(settings.max_tokens, quality.MAX_TOKENS)) if task else None
    secrets = [creds.api_key] if creds.api_key else []
    run = Exchange(kind=kind, settings=settings, host=urlsplit(creds.url).hostname or "")
    now = anyio.current_time()
    with anyio.CancelScope(deadline=now + settings.total_s) as total_scope:
        with anyio.CancelScope(deadline=now + settings.first_token_s) as first_scope:
            run.first_scope = first_scope
            with run.catching():
                request = build_request(endpoint, creds, body or payload(kind, settings))
                await _exchange(client, request.url, request.headers, request.body, run)
    if first_scope.cancelled_caught or total_scope.cancelled_caught:
        if run.first_at is None:
            phase = "first token" if run.headers_at is not None else "response headers"
            limit = min(settings.first_token_s, settings.total_s)
            run.failure = ProbeFailure(ErrorKind.TIMEOUT, f"no {phase} within {limit:g} s")
        else:
            run.failure = ProbeFailure(
                ErrorKind.TIMEOUT, f"the stream did not end within {settings.total_s:g} s"
            )
    answered = run.failure is None and run.verdict() is None
    if kind is ProbeKind.TOOLS and answered:
        run.failure = check_tool_calls(run.tool_calls)
    result = run.result(endpoint.id, started_at, secrets)
    if task is not None and answered:
        # A wrong answer is still an answer: `ok` stays the transport's verdict.
        verdict = quality.check(task, answer_of(run))
        result.quality = QualityItem.model_validate(verdict.model_dump(mode="json"))
    return result


def answer_of(run: Exchange) -> quality.Answer:
    calls = [
        quality.ToolCall(name=call["name"], arguments=call["arguments"])
        for _, call in sorted(run.tool_calls.items())
    ]
    return quality.Answer(
        content=run.content,
        reasoning=run.reasoning,
        tool_calls=calls,
        finish_reason=run.finish_reason,
    )


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    run: Exchange,
) -> None:
    run.t0 = None
    fallback_t0 = time.perf_counter()
    async with client.stream(
        "POST", url, json=body, headers=headers, extensions={"trace": run.trace}
    ) as response:
        if run.t0 is None:  # transports that do not trace (mocks) start the clock here
            run.t0 = fallback_t0
        if await read_head(response, run) is None:
            await read_stream(response, run)
            run.end_at = run.timeline.moment().at


def check_tool_calls(calls: dict[int, dict[str, str]]) -> ProbeFailure | None:
    if not calls:
        return ProbeFailure(ErrorKind.BAD_RESPONSE, "answered in text instead of calling the tool")
    call = calls[min(calls)]
    if call["name"] != TOOL_NAME:
        return ProbeFailure(ErrorKind.BAD_RESPONSE, f"called an unknown tool {call['name']!r}")
    try:
        arguments = json.loads(call["arguments"] or "null")
    except ValueError:
        return ProbeFailure(ErrorKind.BAD_RESPONSE, "tool call arguments are not valid JSON")
    if not isinstance(arguments, dict) or "city" not in arguments:
        return ProbeFailure(ErrorKind.BAD_RESPONSE, "tool call arguments lack the required 'city'")
    return None
