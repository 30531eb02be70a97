"""The router: one local OpenAI-compatible endpoint that forwards each request to the best
healthy provider right now.

Choice comes from the ranking in the store, refreshed in a worker thread every few seconds.
Before the first byte reaches the client a failing provider is replaced by the next one;
after it, a broken stream ends with an explicit error, never a silent switch. Every forwarded
request is stored as a `traffic` sample with the probe's timing definitions (the same
`Exchange` bookkeeping), so real use feeds the ranking. Prompts and answers are never stored
or logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from monitor.catalog import Catalog, Endpoint, resolve
from monitor.core import format as fmt
from monitor.core.models import (
    ErrorKind,
    ProbeKind,
    ProbeResult,
    ProbeSettings,
)
from monitor.router.choice import Picker
from monitor.router.recorder import Recorder
from monitor.router.relay import Attempt, event
from monitor.store import Store, StoreError
from monitor.upstream.classify import ProbeFailure
from monitor.upstream.client import make_client, read_capped
from monitor.upstream.dialects import Request as Upstream
from monitor.upstream.dialects import build_request
from monitor.upstream.exchange import Exchange, read_head
from monitor.upstream.redact import redact

log = logging.getLogger("oss-monitor.router")

# The same request would be refused by any provider: hand the answer back, do not fail over.
REQUEST_FAULTS = {400, 413, 422}


class RouterSettings(BaseModel):
    window: str = "15m"  # ranking window: recent enough to follow outages
    refresh_s: float = Field(default=3.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    connect_s: float = Field(default=5.0, gt=0)
    first_token_s: float = Field(default=20.0, gt=0)
    total_s: float = Field(default=60.0, gt=0)  # all attempts before the first byte
    idle_s: float = Field(default=120.0, gt=0)  # longest silence once the answer streams
    hold_s: float = Field(default=30.0, gt=0)  # rest after a 429 that names no Retry-After
    token: str | None = None
    max_body_bytes: int = 32 << 20
    prober: str = Field(default="router", max_length=64)


class Router:
    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        env: Mapping[str, str],
        settings: RouterSettings | None = None,
    ):
        self.settings = settings = settings or RouterSettings()
        self.model = catalog.model
        self.env = env
        self.picker = Picker(catalog.enabled(), store, env, settings)
        self.recorder = Recorder(store, settings.prober)
        # Probe settings carry the limits the shared client and the stream parser apply.
        self.probe_settings = ProbeSettings(
            connect_s=settings.connect_s, first_token_s=settings.idle_s, total_s=settings.total_s
        )
        self.client = make_client(self.probe_settings)
        self.counts = {"requests": 0, "failovers": 0, "failed": 0, "cut": 0}
        self.ready = threading.Event()  # set once the first ranking is loaded
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self._refresh()
        async with anyio.create_task_group() as group:
            group.start_soon(self._refresh_forever)
            group.start_soon(self.recorder.run)
            self.ready.set()
            yield
            group.cancel_scope.cancel()
        await self.client.aclose()

    async def _refresh(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.picker.refresh)
        except StoreError as exc:
            log.warning("the ranking was not refreshed: %s", exc)

    async def _refresh_forever(self) -> None:
        while True:
            await anyio.sleep(self.settings.refresh_s)
            await self._refresh()

    # -- endpoints

    async def models(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "oss-monitor"}
        return JSONResponse({"object": "list", "data": [model]})

    async def health(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        usable, skipped = self.picker.choose(tools=False)
        with_tools, _ = self.picker.choose(tools=True)
        best = usable[0] if usable else None
        body = {
            "ok": best is not None,
            "would_use": best.id if best else None,
            "why": best.why if best else "no endpoint can take a request now; see `skipped`",
            "with_tools": with_tools[0].id if with_tools else None,
            "then": [s.id for s in usable[1 : self.settings.max_attempts]],
            "skipped": skipped,
            "ranking_at": self.picker.snapshot.at.isoformat(timespec="seconds"),
            "traffic": self.counts,
        }
        return JSONResponse(body, status_code=200 if best else 503)

    async def chat(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await self._read_json(request)
        if isinstance(body, Response):
            return body
        self.counts["requests"] += 1
        usable, skipped = self.picker.choose(tools=bool(body.get("tools")))
        if not usable:
            self.counts["failed"] += 1
            why = "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none is enabled"
            return _error(
                503,
                f"no endpoint can take this request now ({why}); "
                "run `oss-monitor probe --once` to refresh the ranking",
                "no_endpoint",
            )
        payload = {k: v for k, v in body.items() if k != "model"}
        deadline = anyio.current_time() + self.settings.total_s
        failures: list[str] = []
        for stats in usable[: self.settings.max_attempts]:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                break
            attempt = await self._attempt(stats.endpoint, payload, remaining)
            if attempt.run.failure is None:
                self.counts["failovers"] += len(failures)
                return self._respond(attempt, len(failures))
            failures.append(f"{stats.id}: {attempt.run.failure.message}")
        self.counts["failed"] += 1
        return _error(
            502,
            f"every endpoint tried failed before answering ({'; '.join(failures)}); "
            "send the request again, or see `oss-monitor rank`",
            "upstream_failed",
        )

    # -- forwarding

    async def _attempt(self, endpoint: Endpoint, payload: dict[str, Any], remaining: float
                       ) -> Attempt:  # fmt: skip
        creds = resolve(endpoint, self.env)
        upstream = build_request(endpoint, creds, payload)
        host = urlsplit(upstream.url).hostname or ""
        run = Exchange(kind=ProbeKind.TRAFFIC, settings=self.probe_settings, host=host)
        secrets = [creds.api_key] if creds.api_key else []
        attempt = Attempt(endpoint, run, datetime.now(UTC), secrets)
        # A whole (non-streamed) answer arrives at once, so it may take all the time left.
        limit = min(self.settings.first_token_s, remaining) if payload.get("stream") else remaining
        with anyio.move_on_after(limit) as scope:
            run.first_scope = scope
            with run.catching():
                await self._open(attempt, upstream)
        if scope.cancelled_caught:
            run.failure = ProbeFailure(ErrorKind.TIMEOUT, f"no first token within {limit:.3g} s")
        if run.failure is not None:
            await attempt.close()
            if run.failure.kind is ErrorKind.RATE_LIMITED:
                self.picker.hold(endpoint.id, run.failure.retry_after_s)
            run.failure.message = self._record(attempt).message
        elif attempt.body is not None:
            await attempt.close()
            if run.status == 200:  # the request's own errors say nothing of the provider
                self._record(attempt)
        return attempt

    async def _open(self, attempt: Attempt, upstream: Upstream) -> None:
        """Send the request and read until the answer can be handed on (the first token)."""
        run = attempt.run
        request = self.client.build_request(
            "POST", upstream.url, json=upstream.body, headers=upstream.headers,
            extensions={"trace": run.trace},
        )  # fmt: skip
        response = attempt.response = await self.client.send(request, stream=True)
        if response.status_code in REQUEST_FAULTS:  # the request's own error: hand it back
            run.headers_at, run.status = time.perf_counter(), response.status_code
            raw = await read_capped(response, run.settings.max_error_bytes)
            attempt.body = redact(raw.decode("utf-8", "replace"), attempt.secrets).encode()
            attempt.media = response.headers.get("content-type", attempt.media)
            return
        whole = await read_head(response, run)
        if whole is not None:
            attempt.body = whole
            attempt.media = response.headers.get("content-type", attempt.media)
            return
        attempt.chunks = response.aiter_bytes()
        async for chunk in attempt.chunks:
            attempt.head += chunk
            if attempt.feed(chunk) or run.first_at is not None:
                break
        if run.first_at is None and not run.finished:
            raise ProbeFailure(ErrorKind.BAD_RESPONSE, "the stream ended without a single token")

    def _respond(self, attempt: Attempt, failovers: int) -> Response:
        headers = {"x-oss-monitor-endpoint": attempt.endpoint.id}
        if failovers:
            headers["x-oss-monitor-failovers"] = str(failovers)
        if attempt.body is not None:
            status = attempt.run.status or 200
            return Response(attempt.body, status, headers, attempt.media)
        return StreamingResponse(self._relay(attempt), headers=headers,
                                 media_type="text/event-stream")  # fmt: skip

    async def _relay(self, attempt: Attempt) -> AsyncIterator[bytes]:
        """Hand on the stream as it comes; a break becomes an explicit error for the client.

        A client that goes away cancels this at a `yield`: that is our cancellation, not the
        provider's failure, so no sample is stored for it.
        """
        run = attempt.run
        try:
            yield attempt.head
            if not attempt.done and attempt.chunks is not None:
                with run.catching():
                    async for chunk in attempt.chunks:
                        yield chunk  # hand it on first: parsing must not add latency
                        if attempt.feed(chunk):
                            break
            run.end_at = time.perf_counter()
            result = self._record(attempt)
            if run.failure is not None or not run.finished:
                self.counts["cut"] += 1
                yield self._cut_events(attempt, result.message)
        finally:
            await attempt.close()

    def _cut_events(self, attempt: Attempt, why: str) -> bytes:
        error = {
            "message": f"oss-monitor router: the stream from {attempt.endpoint.id} broke after "
            f"the answer began ({why}); the answer is incomplete, send the request again",
            "type": "upstream_error",
            "code": "stream_cut",
        }
        finish = {
            "id": "chatcmpl-oss-monitor-router",
            "object": "chat.completion.chunk",
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
        }
        lead = b"\n\n" if attempt.run.pending else b""  # end a line the provider left half-sent
        return lead + event({"error": error}) + event(finish) + b"data: [DONE]\n\n"

    def _record(self, attempt: Attempt) -> ProbeResult:
        result = attempt.run.result(attempt.endpoint.id, attempt.started_at, attempt.secrets)
        self.recorder.add(result)
        if result.ok:
            log.info("%s ok, TTFT %s", result.endpoint_id, fmt.ms(result.ttft_ms))
        else:
            log.info("%s %s: %s", result.endpoint_id, result.error, result.message)
        return result

    # -- helpers

    def _denied(self, request: Request) -> Response | None:
        token = self.settings.token
        sent = request.headers.get("authorization", "")
        if token is None or hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        return _error(
            401,
            "this router needs its token: send `Authorization: Bearer <token>` "
            "(set the tool's API key to the router's --token)",
            "invalid_router_token",
        )

    async def _read_json(self, request: Request) -> dict[str, Any] | Response:
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > self.settings.max_body_bytes:
                return _error(
                    413,
                    f"the request is over {self.settings.max_body_bytes >> 20} MiB; "
                    "send a shorter conversation",
                    "request_too_large",
                )
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(
                400,
                "the request body must be a JSON object, as for OpenAI's /v1/chat/completions",
                "invalid_request",
            )
        return body


def _error(status: int, message: str, code: str) -> Response:
    body = {"error": {"message": message, "type": "oss_monitor_router", "code": code}}
    return JSONResponse(body, status_code=status)
