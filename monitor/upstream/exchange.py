"""One request to a provider: its timing, its SSE stream parsed within size caps, its verdict.

Timing follows design.md: t0 is when the request headers start going out on the connection
(httpx's trace extension), so waiting for a pool slot is not blamed on the provider.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import httpx

from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings
from monitor.upstream import bounds
from monitor.upstream.classify import (
    ProbeFailure,
    describe_body,
    error_from_json,
    status_failure,
    transport_failure,
)
from monitor.upstream.client import read_capped
from monitor.upstream.sse import Decoder, LineTooLong
from monitor.upstream.timing import Stamped, Timeline

RATE_LIMIT_HEADER = "ratelimit"
KEPT_CHARS = 8192  # of the answer and the reasoning: enough to check a terse answer, bounded


@dataclass
class Exchange:
    """Everything one request to a provider observed, in perf_counter seconds (probe or
    router); arrival moments come from the connection's reads (see `Timeline`)."""

    kind: ProbeKind
    settings: ProbeSettings
    host: str
    first_scope: anyio.CancelScope | None = None
    t0: float | None = None
    new_connection: bool = False
    headers_at: float | None = None
    first_at: float | None = None
    end_at: float | None = None
    status: int | None = None
    chunks: int = 0
    usage_tokens: int | None = None
    finished: bool = False
    rate_limit: dict[str, str] = field(default_factory=dict)
    tool_calls: dict[int, dict[str, str]] = field(default_factory=dict)
    content: str = ""  # the answer's first KEPT_CHARS characters (the quality canary reads it)
    reasoning: str = ""  # likewise
    finish_reason: str | None = None
    failure: ProbeFailure | None = None
    received: int = 0  # stream bytes read so far
    timeline: Timeline = field(default_factory=Timeline)
    # Sees every parsed chunk (the router translating the stream for another API).
    listener: Callable[[dict[str, Any]], None] | None = None
    sse: Decoder = field(init=False)

    def __post_init__(self) -> None:
        self.sse = Decoder(self.settings.max_line_bytes)

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "connection.connect_tcp.started":
            self.new_connection = True
        elif event.endswith("send_request_headers.started"):
            self.t0 = time.perf_counter()

    @contextmanager
    def catching(self) -> Iterator[None]:
        """Whatever the exchange raises becomes this run's one classified failure."""
        try:
            yield
        except ProbeFailure as failure:
            self.failure = failure
        except httpx.HTTPError as exc:
            self.failure = transport_failure(exc, self)
        except OSError as exc:  # anything the transport did not wrap
            self.failure = ProbeFailure(ErrorKind.NETWORK, f"network error: {exc}")

    def attach(self, response: httpx.Response) -> float:
        """Take arrival moments from the connection's reads; returns when the headers came."""
        stream = response.extensions.get("network_stream")
        self.timeline.stream = stream if isinstance(stream, Stamped) else None
        return self.timeline.moment().at

    def feed(self, chunk: bytes) -> bool:
        """Handle the SSE events a chunk completes, within the size caps; True at [DONE]."""
        self.timeline.delivered()
        self.received += len(chunk)
        if self.received > self.settings.max_stream_bytes:
            raise ProbeFailure(
                ErrorKind.BAD_RESPONSE,
                f"the stream exceeded {self.settings.max_stream_bytes >> 20} MiB; stopped reading",
            )
        with self._line_cap():
            return any(_handle(item, self) for item in self.sse.feed(chunk))

    def feed_end(self) -> None:
        """The connection closed: a last line or event without its ending still counts."""
        with self._line_cap():
            any(_handle(item, self) for item in self.sse.end())

    @contextmanager
    def _line_cap(self) -> Iterator[None]:
        try:
            yield
        except LineTooLong:
            raise ProbeFailure(
                ErrorKind.BAD_RESPONSE,
                f"one stream line exceeded {self.settings.max_line_bytes >> 10} KiB; "
                "stopped reading",
            ) from None

    def token(self, answer: bool) -> None:
        arrival = self.timeline.token(answer)
        if self.first_at is None:
            self.first_at = arrival.at
            if self.first_scope is not None:
                self.first_scope.deadline = math.inf
        self.chunks += 1

    def _ms(self, moment: float | None) -> float | None:
        if moment is None or self.t0 is None:
            return None
        return round((moment - self.t0) * 1000, 3)

    def result(self, endpoint_id: str, started_at: datetime, secrets: list[str]) -> ProbeResult:
        tokens = self.usage_tokens if self.usage_tokens else (self.chunks or None)
        failure = self.failure or self.verdict()
        answer = self.timeline.answer
        return ProbeResult(
            endpoint_id=endpoint_id,
            kind=self.kind,
            started_at=started_at,
            ok=failure is None,
            error=failure.kind if failure else None,
            status=self.status,
            message=bounds.text(failure.message, secrets) if failure else "",
            headers_ms=self._ms(self.headers_at),
            ttft_ms=self._ms(self.first_at),
            ttfa_ms=self._ms(answer.at if answer else None),
            total_ms=self._ms(self.end_at or time.perf_counter()),
            output_tokens=tokens,
            tokens_per_s=self.timeline.decode_speed(tokens, self.chunks),
            clock=self.timeline.clock,
            new_connection=self.new_connection if self.t0 is not None else None,
            retry_after_s=failure.retry_after_s if failure else None,
            rate_limit=bounds.headers(self.rate_limit.items(), secrets),
        )

    def verdict(self) -> ProbeFailure | None:
        """A stream that arrived in full: was it a real answer?"""
        if self.chunks == 0:
            return ProbeFailure(ErrorKind.BAD_RESPONSE, "the stream ended without a single token")
        if not self.finished:
            return ProbeFailure(
                ErrorKind.BAD_RESPONSE,
                f"the stream stopped after {self.chunks} chunks without finish_reason or [DONE]",
            )
        return None


async def read_head(response: httpx.Response, run: Exchange) -> bytes | None:
    """Classify a response before its answer: raise its failure, return a whole JSON answer
    (some servers ignore `stream: true`), or None when an event stream follows."""
    run.headers_at = run.attach(response)
    run.status = response.status_code
    run.rate_limit = {
        k.lower(): v
        for k, v in response.headers.items()
        if RATE_LIMIT_HEADER in k.lower() or k.lower() == "retry-after"
    }
    if response.status_code != 200:
        raw = await read_capped(response, run.settings.max_error_bytes)
        raise status_failure(response, raw)
    content_type = response.headers.get("content-type", "").lower()
    if "html" in content_type:
        raw = await read_capped(response, run.settings.max_error_bytes)
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, f"HTTP 200 but {describe_body(raw)}")
    if "application/json" not in content_type:
        return None
    raw = await read_capped(response, run.settings.max_stream_bytes)
    read_whole_completion(raw, run)
    run.end_at = run.timeline.moment().at
    return raw


async def read_stream(response: httpx.Response, run: Exchange) -> None:
    async for chunk in response.aiter_bytes():
        if run.feed(chunk):
            return
    run.feed_end()


def _handle(item: bytes | str, run: Exchange) -> bool:
    """Handle one event's data (or a line that is not SSE); True once the stream says [DONE]."""
    if isinstance(item, bytes):
        if run.chunks == 0:
            raise ProbeFailure(
                ErrorKind.BAD_RESPONSE, f"HTTP 200 but {describe_body(item)} instead of a stream"
            )
        return False
    if item.strip() == "[DONE]":
        run.finished = run.finished or run.chunks > 0
        return True
    chunk = _json(item, "broken JSON in the event stream")
    if not isinstance(chunk, dict):
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "an event in the stream is not a JSON object")
    _handle_chunk(chunk, run)
    return False


def _json(raw: bytes | str, broken: str) -> Any:
    try:
        return bounds.loads(raw)
    except bounds.TooDeep as exc:
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, f"{broken} ({exc})") from None
    except ValueError:
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, broken) from None


def _handle_chunk(chunk: dict[str, Any], run: Exchange) -> None:
    if chunk.get("error"):  # healthy chunks of some providers carry `"error": null`
        kind, message = error_from_json(chunk)
        raise ProbeFailure(kind or ErrorKind.SERVER, f"error inside the stream: {message}")
    if run.listener is not None:
        run.listener(chunk)
    groq = chunk.get("x_groq")
    usage = chunk.get("usage") or (groq.get("usage") if isinstance(groq, dict) else None)
    if isinstance(usage, dict) and (tokens := bounds.count(usage.get("completion_tokens"))):
        run.usage_tokens = tokens
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or choice.get("message")
        if not isinstance(delta, dict):
            delta = {}
        if _carries_text(delta) or _collect_tool_calls(delta, run):
            run.token(answer=_is_answer(delta))
            _keep_text(delta, run)
        if choice.get("finish_reason"):
            run.finished = True
            if isinstance(choice["finish_reason"], str):
                run.finish_reason = choice["finish_reason"][:32]


def _carries_text(delta: dict[str, Any]) -> bool:
    return any(
        isinstance(delta.get(k), str) and delta[k] != ""
        for k in ("content", "reasoning", "reasoning_content")
    )


def _is_answer(delta: dict[str, Any]) -> bool:
    """Text the user reads, or the tool call a coding tool acts on: not reasoning."""
    content, calls = delta.get("content"), delta.get("tool_calls")
    return (isinstance(content, str) and content != "") or (isinstance(calls, list) and calls != [])


def _keep_text(delta: dict[str, Any], run: Exchange) -> None:
    """Keep the start of the answer and of the reasoning, whatever the stream's length."""
    content = delta.get("content")
    reasoning = delta.get("reasoning") or delta.get("reasoning_content")
    if isinstance(content, str) and len(run.content) < KEPT_CHARS:
        run.content = (run.content + content)[:KEPT_CHARS]
    if isinstance(reasoning, str) and len(run.reasoning) < KEPT_CHARS:
        run.reasoning = (run.reasoning + reasoning)[:KEPT_CHARS]


def _collect_tool_calls(delta: dict[str, Any], run: Exchange) -> bool:
    calls = delta.get("tool_calls")
    if not isinstance(calls, list):
        return False
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        index = call.get("index", position)
        index = index if isinstance(index, int) else position
        slot = run.tool_calls.setdefault(index, {"name": "", "arguments": ""})
        function = call.get("function")
        if not isinstance(function, dict):
            continue
        if isinstance(function.get("name"), str):
            slot["name"] += function["name"]
        if isinstance(function.get("arguments"), str):
            slot["arguments"] += function["arguments"]
    return bool(calls)


def read_whole_completion(raw: bytes, run: Exchange) -> None:
    """Some servers ignore `stream: true` and answer with one JSON completion."""
    chunk = _json(raw, "HTTP 200 but the JSON body is broken")
    if not isinstance(chunk, dict) or not (chunk.get("choices") or chunk.get("error")):
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "HTTP 200 but the JSON body is not a completion")
    _handle_chunk(chunk, run)
