"""The router: one local endpoint that forwards each request to the best healthy provider
right now, speaking each coding tool's API: OpenAI chat completions (passed through as they
are), Anthropic Messages (Claude Code) and OpenAI Responses (Codex), both translated to chat
completions upstream. All three share one forwarding path (`forward.Forwarder`).

Choice comes from the ranking in the store, refreshed in a worker thread every few seconds,
and from a circuit breaker per endpoint fed by the router's own traffic. Prompts and answers
are never stored or logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.catalog import Catalog
from monitor.core import crash
from monitor.router import anthropic, chat, responses
from monitor.router.bodies import BodyBudget, read_json
from monitor.router.choice import Picker
from monitor.router.forward import Forwarder, Refusal
from monitor.router.recorder import Recorder
from monitor.router.relay import Attempt, PassThrough, Relay
from monitor.router.translate import Refused, Translator, estimate_tokens
from monitor.store import Store, StoreError
from monitor.upstream.classify import error_from_json

log = logging.getLogger("oss-monitor.router")

ErrorReply = Callable[[int, str, str], Response]


class RouterSettings(BaseModel):
    window: str = "15m"  # ranking window: recent enough to follow outages
    refresh_s: float = Field(default=3.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    connect_s: float = Field(default=5.0, gt=0)
    first_token_s: float = Field(default=20.0, gt=0)
    total_s: float = Field(default=60.0, gt=0)  # all attempts; a whole answer must end by then
    idle_s: float = Field(default=120.0, gt=0)  # longest silence once the answer streams
    hold_s: float = Field(default=30.0, gt=0)  # rest after a 429 that names no Retry-After
    breaker_failures: int = Field(default=3, ge=1)  # failures in a row that open a circuit
    breaker_cooldown_s: float = Field(default=10.0, gt=0)  # first open period, then doubled
    breaker_max_cooldown_s: float = Field(default=300.0, gt=0)
    token: str | None = None
    max_body_bytes: int = 32 << 20
    max_bodies_bytes: int = 256 << 20  # all clients' request bodies held at once
    max_answer_bytes: int = 256 << 20  # a relayed answer (the probe's 8 MiB cap is the probe's)
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
        self.picker = Picker(catalog.enabled(), store, env, settings)
        self.recorder = Recorder(store, settings.prober, self.picker.breakers.export)
        self.forwarder = Forwarder(self.picker, self.recorder, env, settings)
        self.counts = self.forwarder.counts
        self.bodies = BodyBudget(settings.max_bodies_bytes)
        self.ready = threading.Event()  # set once the first ranking is loaded
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
                Route("/v1/responses", self.responses, methods=["POST"]),
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
        await self.forwarder.client.aclose()

    async def _refresh(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.picker.refresh)
        except StoreError as exc:
            log.warning("the ranking was not refreshed: %s", exc)
        except Exception as exc:  # our bug: keep the last ranking, try again next time
            why = await anyio.to_thread.run_sync(crash.record, exc, "refreshing the ranking")
            log.error("the ranking was not refreshed: %s", why)

    async def _refresh_forever(self) -> None:
        while True:
            await anyio.sleep(self.settings.refresh_s)
            await self._refresh()

    # -- the APIs

    async def chat(self, request: Request) -> Response:
        return await self._serve(request, openai_error, self._chat)

    async def messages(self, request: Request) -> Response:
        return await self._serve(request, anthropic.error, self._messages)

    async def count_tokens(self, request: Request) -> Response:
        return await self._serve(request, anthropic.error, self._count_tokens)

    async def responses(self, request: Request) -> Response:
        return await self._serve(request, openai_error, self._responses)

    async def _serve(
        self,
        request: Request,
        error: ErrorReply,
        handle: Callable[[dict[str, Any]], Awaitable[Response]],
    ) -> Response:
        """Check the token, read the body within every client's shared budget (held until
        the answer is handed on), then answer."""
        if (denied := self._denied(request, error)) is not None:
            return denied
        with self.bodies.hold() as taken:
            body = await read_json(request, self.bodies, taken, self.settings.max_body_bytes)
            if isinstance(body, Refusal):
                return error(body.status, body.message, body.code)
            return await handle(body)

    async def _chat(self, body: dict[str, Any]) -> Response:
        payload = {k: v for k, v in body.items() if k != "model"}
        if chat.rebuildable(payload):
            payload = chat.streamed(payload)
            speaker = chat.WholeChat(self.model, _estimate(payload))
            return await self._translated(payload, speaker, False, openai_error)
        outcome = await self.forwarder.forward(payload)
        if isinstance(outcome, Refusal):
            return openai_error(outcome.status, outcome.message, outcome.code)
        headers = self.forwarder.headers(outcome)
        if outcome.body is not None:
            return Response(outcome.body, outcome.run.status or 200, headers, outcome.media)
        return Relay(self.forwarder.stream(outcome, PassThrough(self.model)), headers)

    async def _messages(self, body: dict[str, Any]) -> Response:
        try:
            payload = anthropic.to_chat(body)
        except Refused as exc:
            return anthropic.error(400, str(exc), "invalid_request")
        speaker = anthropic.Messages(self._asked(body), _estimate(payload))
        return await self._translated(payload, speaker, body.get("stream") is True, anthropic.error)

    async def _count_tokens(self, body: dict[str, Any]) -> Response:
        try:
            return JSONResponse(anthropic.count_tokens(body))
        except Refused as exc:
            return anthropic.error(400, str(exc), "invalid_request")

    async def _responses(self, body: dict[str, Any]) -> Response:
        try:
            payload, custom = responses.to_chat(body)
        except Refused as exc:
            return openai_error(400, str(exc), "invalid_request")
        speaker = responses.Responses(self._asked(body), _estimate(payload), custom)
        return await self._translated(payload, speaker, body.get("stream") is True, openai_error)

    async def _translated(
        self, payload: dict[str, Any], speaker: Translator, stream: bool, error: ErrorReply
    ) -> Response:
        outcome = await self.forwarder.forward(payload, listen=True)
        if isinstance(outcome, Refusal):
            return error(outcome.status, outcome.message, outcome.code)
        headers = self.forwarder.headers(outcome)
        if outcome.body is not None and outcome.run.status != 200:
            return error(outcome.run.status or 502, _upstream_message(outcome), "upstream_refused")
        if stream:
            return Relay(self.forwarder.stream(outcome, speaker), headers)
        await self.forwarder.collect(outcome, speaker)
        if speaker.error is not None:
            return error(502, speaker.error, "stream_cut")
        return JSONResponse(speaker.whole(), headers=headers)

    async def models(self, request: Request) -> Response:
        if (denied := self._denied(request, openai_error)) is not None:
            return denied
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "oss-monitor"}
        return JSONResponse({"object": "list", "data": [model]})

    async def health(self, request: Request) -> Response:
        if (denied := self._denied(request, openai_error)) is not None:
            return denied
        choice = self.picker.choose(tools=False)
        with_tools = self.picker.choose(tools=True)
        best = choice.usable[0] if choice.usable and not choice.last_resort else None
        breakers = self.picker.breakers
        body = {
            "ok": best is not None,
            "would_use": best.id if best else None,
            "why": best.why
            if best
            else "no endpoint is healthy now; see `skipped`"
            + (" (requests still try the least recently failed)" if choice.last_resort else ""),
            "with_tools": with_tools.usable[0].id if with_tools.usable else None,
            "then": [s.id for s in choice.usable[1 : self.settings.max_attempts]],
            "skipped": choice.skipped,
            "circuits": {s.id: breakers.view(s.id) for s in self.picker.snapshot.stats},
            "ranking_at": self.picker.snapshot.at.isoformat(timespec="seconds"),
            "traffic": self.counts,
        }
        return JSONResponse(body, status_code=200 if best else 503)

    # -- helpers

    def _asked(self, body: dict[str, Any]) -> str:
        """The model name the client sent, echoed back (any name maps to our model)."""
        asked = body.get("model")
        return asked[:200] if isinstance(asked, str) and asked else self.model

    def _denied(self, request: Request, error: ErrorReply) -> Response | None:
        token = self.settings.token
        if token is None:
            return None
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        sent = sent.strip() if scheme.lower() == "bearer" else ""
        sent = sent or request.headers.get("x-api-key", "")  # Anthropic clients' header
        if hmac.compare_digest(sent.encode(), token.encode()):
            return None
        return error(
            401,
            "this router needs its token: send `Authorization: Bearer <token>` "
            "(set the tool's API key to the router's --token)",
            "invalid_router_token",
        )


def openai_error(status: int, message: str, code: str) -> Response:
    body = {"error": {"message": message, "type": "oss_monitor_router", "code": code}}
    return JSONResponse(body, status_code=status)


def _estimate(payload: dict[str, Any]) -> int:
    return estimate_tokens(payload.get("messages"), payload.get("tools"))


def _upstream_message(attempt: Attempt) -> str:
    """The provider's own words for refusing the request (already redacted)."""
    try:
        data = json.loads(attempt.body or b"")
    except ValueError:
        data = None
    detail = error_from_json(data)[1] if isinstance(data, dict) else ""
    status = attempt.run.status
    return f"{attempt.endpoint.id} refused the request (HTTP {status}): {detail or 'no detail'}"
