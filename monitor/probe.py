"""One probe of one endpoint: a real streaming chat completion, timed and classified.

The only module that speaks HTTP to providers. It knows nothing of scheduling or storage:
`probe()` takes an endpoint and returns a `ProbeResult`, whatever happens on the wire.
Timing definitions follow design.md: t0 is when the request headers start going out on the
connection (httpx's trace extension), so waiting for a pool slot is not blamed on the provider.
"""

from __future__ import annotations

import json
import math
import re
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import anyio
import httpx
from pydantic import BaseModel, Field

from monitor.catalog import Endpoint, resolve
from monitor.dialects import build_request
from monitor.upstream.stamped import stamped_transport
from monitor.upstream.timing import Clock, Stamped, Timeline


class ErrorKind(StrEnum):
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    SERVER = "server"
    TIMEOUT = "timeout"
    NETWORK = "network"
    BAD_RESPONSE = "bad_response"
    NO_KEY = "no_key"


class ProbeKind(StrEnum):
    CHAT = "chat"
    TOOLS = "tools"
    TRAFFIC = "traffic"  # a real request forwarded by the router: a passive sample


class ProbeResult(BaseModel):
    endpoint_id: str
    kind: ProbeKind = ProbeKind.CHAT
    started_at: datetime
    ok: bool
    error: ErrorKind | None = None
    status: int | None = None
    message: str = ""
    headers_ms: float | None = None
    ttft_ms: float | None = None
    ttfa_ms: float | None = None  # the first answer token: reasoning excluded
    total_ms: float | None = None
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    clock: Clock = "monotonic"  # "kernel" when every moment came from kernel receive stamps
    new_connection: bool | None = None
    retry_after_s: float | None = None
    rate_limit: dict[str, str] = Field(default_factory=dict)


class Sample(NamedTuple):
    """A stored probe, slimmed to what ranking needs (cheap to hold by the million)."""

    endpoint_id: str
    kind: str
    started_at: datetime
    ok: bool
    error: str | None
    status: int | None
    message: str
    ttft_ms: float | None
    total_ms: float | None
    tokens_per_s: float | None


class ProbeSettings(BaseModel):
    connect_s: float = Field(default=10.0, gt=0)
    first_token_s: float = Field(default=30.0, gt=0)
    total_s: float = Field(default=60.0, gt=0)
    # gpt-oss reasons before answering: too few tokens and the answer is empty.
    max_tokens: int = Field(default=128, gt=1)
    max_line_bytes: int = 1 << 20
    max_stream_bytes: int = 8 << 20
    max_error_bytes: int = 64 << 10
    prompt: str = "Reply with one short friendly sentence."


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
) -> ProbeResult:
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
    request = build_request(endpoint, creds, payload(kind, settings))
    secrets = [creds.api_key] if creds.api_key else []
    run = ProbeRun(kind=kind, settings=settings, host=urlsplit(request.url).hostname or "")
    now = anyio.current_time()
    with anyio.CancelScope(deadline=now + settings.total_s) as total_scope:
        with anyio.CancelScope(deadline=now + settings.first_token_s) as first_scope:
            run.first_scope = first_scope
            with run.catching():
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
    return run.result(endpoint.id, started_at, secrets)


# ---------------------------------------------------------------- internals


class ProbeFailure(Exception):
    def __init__(self, kind: ErrorKind, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass
class ProbeRun:
    """Everything one probe observed, in perf_counter seconds (arrivals: see Timeline)."""

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
    failure: ProbeFailure | None = None
    received: int = 0  # stream bytes read so far
    pending: bytearray = field(default_factory=bytearray)  # an unfinished SSE line
    timeline: Timeline = field(default_factory=Timeline)

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
        """Parse the SSE lines a chunk completes, within the size caps; True at [DONE]."""
        self.timeline.delivered()
        self.received += len(chunk)
        if self.received > self.settings.max_stream_bytes:
            raise ProbeFailure(
                ErrorKind.BAD_RESPONSE,
                f"the stream exceeded {self.settings.max_stream_bytes >> 20} MiB; stopped reading",
            )
        self.pending += chunk
        while (cut := self.pending.find(b"\n")) >= 0:
            _check_line_size(cut, self)
            line = bytes(self.pending[:cut]).rstrip(b"\r")
            del self.pending[: cut + 1]
            if _handle_line(line, self):
                return True
        _check_line_size(len(self.pending), self)
        return False

    def feed_end(self) -> None:
        """The connection closed: a last line without a newline still counts."""
        if self.pending.strip():
            _handle_line(bytes(self.pending).strip(), self)
        self.pending.clear()

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
        failure = self.failure or self._verdict()
        answer = self.timeline.answer
        return ProbeResult(
            endpoint_id=endpoint_id,
            kind=self.kind,
            started_at=started_at,
            ok=failure is None,
            error=failure.kind if failure else None,
            status=self.status,
            message=redact(failure.message, secrets)[:300] if failure else "",
            headers_ms=self._ms(self.headers_at),
            ttft_ms=self._ms(self.first_at),
            ttfa_ms=self._ms(answer.at if answer else None),
            total_ms=self._ms(self.end_at or time.perf_counter()),
            output_tokens=tokens,
            tokens_per_s=self.timeline.decode_speed(tokens, self.chunks),
            clock=self.timeline.clock,
            new_connection=self.new_connection if self.t0 is not None else None,
            retry_after_s=failure.retry_after_s if failure else None,
            rate_limit={k: redact(v, secrets) for k, v in self.rate_limit.items()},
        )

    def _verdict(self) -> ProbeFailure | None:
        """A stream that arrived in full: was it a real answer?"""
        if self.chunks == 0:
            return ProbeFailure(ErrorKind.BAD_RESPONSE, "the stream ended without a single token")
        if not self.finished:
            return ProbeFailure(
                ErrorKind.BAD_RESPONSE,
                f"the stream stopped after {self.chunks} chunks without finish_reason or [DONE]",
            )
        if self.kind is ProbeKind.TOOLS:
            return _check_tool_calls(self.tool_calls)
        return None


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    run: ProbeRun,
) -> None:
    run.t0 = None
    fallback_t0 = time.perf_counter()
    async with client.stream(
        "POST", url, json=body, headers=headers, extensions={"trace": run.trace}
    ) as response:
        run.headers_at = run.attach(response)
        if run.t0 is None:  # transports that do not trace (mocks) start the clock here
            run.t0 = fallback_t0
        run.status = response.status_code
        run.rate_limit = {
            k.lower(): v
            for k, v in response.headers.items()
            if "ratelimit" in k.lower() or k.lower() == "retry-after"
        }
        if response.status_code != 200:
            raw = await read_capped(response, run.settings.max_error_bytes)
            raise status_failure(response, raw)
        content_type = response.headers.get("content-type", "").lower()
        if "html" in content_type:
            raw = await read_capped(response, run.settings.max_error_bytes)
            raise ProbeFailure(ErrorKind.BAD_RESPONSE, f"HTTP 200 but {describe_body(raw)}")
        if "application/json" in content_type:
            raw = await read_capped(response, run.settings.max_stream_bytes)
            read_whole_completion(raw, run)
        else:
            await _read_stream(response, run)
        run.end_at = run.timeline.moment().at


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


async def _read_stream(response: httpx.Response, run: ProbeRun) -> None:
    async for chunk in response.aiter_bytes():
        if run.feed(chunk):
            return
    run.feed_end()


def _check_line_size(size: int, run: ProbeRun) -> None:
    if size > run.settings.max_line_bytes:
        raise ProbeFailure(
            ErrorKind.BAD_RESPONSE,
            f"one stream line exceeded {run.settings.max_line_bytes >> 10} KiB; stopped reading",
        )


def _handle_line(line: bytes, run: ProbeRun) -> bool:
    """Handle one SSE line; True once the stream says [DONE]."""
    if not line.startswith(b"data:"):
        if line.lstrip().startswith((b"<", b"{")) and run.chunks == 0:
            raise ProbeFailure(
                ErrorKind.BAD_RESPONSE, f"HTTP 200 but {describe_body(line)} instead of a stream"
            )
        return False  # blank lines, `event:` and `: keep-alive` comments
    data = line[5:].strip()
    if data == b"[DONE]":
        run.finished = run.finished or run.chunks > 0
        return True
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "broken JSON in the event stream") from None
    if not isinstance(chunk, dict):
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "an event in the stream is not a JSON object")
    _handle_chunk(chunk, run)
    return False


def _handle_chunk(chunk: dict[str, Any], run: ProbeRun) -> None:
    if "error" in chunk:
        kind, message = _error_from_json(chunk)
        raise ProbeFailure(kind or ErrorKind.SERVER, f"error inside the stream: {message}")
    usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        run.usage_tokens = usage["completion_tokens"]
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or choice.get("message") or {}
        if _carries_text(delta) or _collect_tool_calls(delta, run):
            run.token(answer=_is_answer(delta))
        if choice.get("finish_reason"):
            run.finished = True


def _carries_text(delta: dict[str, Any]) -> bool:
    return any(
        isinstance(delta.get(k), str) and delta[k] != ""
        for k in ("content", "reasoning", "reasoning_content")
    )


def _is_answer(delta: dict[str, Any]) -> bool:
    """Text the user reads, or the tool call a coding tool acts on: not reasoning."""
    content, calls = delta.get("content"), delta.get("tool_calls")
    return (isinstance(content, str) and content != "") or (isinstance(calls, list) and calls != [])


def _collect_tool_calls(delta: dict[str, Any], run: ProbeRun) -> bool:
    calls = delta.get("tool_calls")
    if not isinstance(calls, list):
        return False
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        index = call.get("index", position)
        index = index if isinstance(index, int) else position
        slot = run.tool_calls.setdefault(index, {"name": "", "arguments": ""})
        function = call.get("function") or {}
        if isinstance(function.get("name"), str):
            slot["name"] += function["name"]
        if isinstance(function.get("arguments"), str):
            slot["arguments"] += function["arguments"]
    return bool(calls)


def _check_tool_calls(calls: dict[int, dict[str, str]]) -> ProbeFailure | None:
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


def read_whole_completion(raw: bytes, run: ProbeRun) -> None:
    """Some servers ignore `stream: true` and answer with one JSON completion."""
    try:
        chunk = json.loads(raw)
    except ValueError:
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "HTTP 200 but the JSON body is broken") from None
    if not isinstance(chunk, dict) or not (chunk.get("choices") or chunk.get("error")):
        raise ProbeFailure(ErrorKind.BAD_RESPONSE, "HTTP 200 but the JSON body is not a completion")
    _handle_chunk(chunk, run)


MODEL_MISSING = re.compile(
    r"model.{0,60}(not found|does not exist|not exist|unknown|invalid|not supported|unavailable)"
    r"|(unknown|invalid|no such) model",
    re.I,
)


def status_failure(response: httpx.Response, raw: bytes) -> ProbeFailure:
    status = response.status_code
    kind_hint, detail = _error_from_body(raw)
    text = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
    if status in (401, 403):
        return ProbeFailure(ErrorKind.AUTH, text)
    if status == 402:
        return ProbeFailure(ErrorKind.AUTH, f"{text} (payment required on this account)")
    if status == 404:
        return ProbeFailure(ErrorKind.NOT_FOUND, text)
    if status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        return ProbeFailure(ErrorKind.RATE_LIMITED, text, retry_after_s=wait)
    if status >= 500:
        return ProbeFailure(ErrorKind.SERVER, text)
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("location", "")).hostname or "another URL"
        return ProbeFailure(
            ErrorKind.BAD_RESPONSE, f"HTTP {status}: redirected to {target}; not followed"
        )
    if kind_hint is ErrorKind.NOT_FOUND or MODEL_MISSING.search(detail):
        return ProbeFailure(ErrorKind.NOT_FOUND, text)
    return ProbeFailure(kind_hint or ErrorKind.BAD_RESPONSE, text)


def _error_from_body(raw: bytes) -> tuple[ErrorKind | None, str]:
    try:
        data = json.loads(raw)
    except ValueError:
        return None, describe_body(raw) if raw.strip() else ""
    if isinstance(data, dict):
        return _error_from_json(data)
    return None, _short(str(data))


def _error_from_json(data: dict[str, Any]) -> tuple[ErrorKind | None, str]:
    """OpenAI `{"error": {...}}`, plain `{"error": "..."}`, Oxen `{status_message}`, `{detail}`."""
    error = data.get("error")
    message: Any = None
    code: Any = None
    if isinstance(error, dict):
        message = error.get("message") or error.get("type")
        code = error.get("code")
    elif error:
        message = error
    message = message or data.get("status_message") or data.get("message") or data.get("detail")
    kind = None
    if code == 429 or code == "rate_limit_exceeded":
        kind = ErrorKind.RATE_LIMITED
    elif code == "model_not_found":
        kind = ErrorKind.NOT_FOUND
    return kind, _short(message if isinstance(message, str) else json.dumps(message or data))


def describe_body(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if "<html" in text[:2000].lower() or "<!doctype" in text[:200].lower():
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        return f"an HTML page ({_short(title.group(1)) if title else 'no title'})"
    return _short(text)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def transport_failure(exc: httpx.HTTPError, run: ProbeRun) -> ProbeFailure:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ProbeFailure(
            ErrorKind.TIMEOUT, f"could not connect within {run.settings.connect_s:g} s"
        )
    if isinstance(exc, httpx.TimeoutException):
        phase = "response headers" if run.headers_at is None else "more data"
        return ProbeFailure(ErrorKind.TIMEOUT, f"waited too long for {phase}")
    if run.headers_at is not None:
        return ProbeFailure(
            ErrorKind.BAD_RESPONSE,
            f"the connection dropped mid-stream after {run.chunks} chunks ({_short(detail, 80)})",
        )
    cause = _root_cause(exc)
    lowered = f"{detail} {cause}".lower()
    if isinstance(cause, socket.gaierror) or any(
        s in lowered for s in ("name or service", "nodename", "getaddrinfo", "name resolution")
    ):
        return ProbeFailure(ErrorKind.NETWORK, f"DNS lookup failed for {run.host}")
    if isinstance(cause, ConnectionRefusedError) or "refused" in lowered:
        return ProbeFailure(ErrorKind.NETWORK, f"connection refused by {run.host}")
    if isinstance(cause, ssl.SSLError) or any(s in lowered for s in ("ssl", "certificate", "tls")):
        return ProbeFailure(
            ErrorKind.NETWORK, f"TLS failure with {run.host}: {_short(detail, 120)}"
        )
    return ProbeFailure(ErrorKind.NETWORK, f"network error with {run.host}: {_short(detail, 120)}")


def _root_cause(exc: BaseException) -> BaseException:
    """httpx wraps the OS error that says what happened (refused, DNS, TLS); find it."""
    deepest: BaseException = exc
    seen: BaseException | None = exc
    for _ in range(10):  # chains are short; never loop on a cycle
        seen = seen.__cause__ or seen.__context__ if seen else None
        if seen is None:
            break
        if isinstance(seen, OSError):
            deepest = seen
    return deepest


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date; anything else is ignored."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


KEY_SHAPES = re.compile(
    r"(Bearer\s+)\S+|\b(?:sk|gsk|csk|nvapi|hf|fw|key)[-_][A-Za-z0-9_\-]{8,}", re.I
)


def redact(text: str, secrets: list[str]) -> str:
    """Hide keys: the real ones we sent, and anything shaped like a key a provider echoes."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return KEY_SHAPES.sub(lambda m: (m.group(1) or "") + "***", text)
