"""A simulated provider fleet: real OpenAI-compatible HTTP servers on 127.0.0.1.

Each simulated endpoint lives under its own path prefix on one port (`/<id>/v1/...`) and
follows a profile from `data/fleet.yaml`: latency distributions, decode speed, failure rates,
outage windows, quotas answering 429 with Retry-After, keys, reasoning dialects, usage present
or absent, broken tool calls, and hostile behaviours. What it answers is decided like a model
would (`answers`), and sent as chat chunks or Responses API events (`render`). It powers `demo`
and the end-to-end tests; it knows nothing of the monitor's internals.
"""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import yaml
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from monitor.core.data import data_path
from monitor.sim import answers, bank
from monitor.sim.raw import RawReply, raw_response
from monitor.sim.render import ChatReply, ResponsesReply

FLEET_KEY_ENV = "OSS_FLEET_KEY"
Mode = Literal[
    "normal",
    "hang",  # accepts the request and never answers
    "headers_only",  # sends 200 headers, then nothing
    "cut",  # half a stream, then drops the connection
    "html",  # 200 with an HTML error page
    "broken_json",  # 200 with a stream of broken JSON
    "endless",  # tokens forever, never finishes
    "huge_chunk",  # one multi-megabyte line
    "redirect",  # 307 to another host
    "status",  # every request answered with `error_status` (502, 529 ...)
    "raw",  # the reply `raw` gives, byte for byte
]


class Spread(BaseModel):
    """A latency in ms: mean with uniform jitter (+/-)."""

    model_config = ConfigDict(extra="forbid")
    mean: float = Field(ge=0)
    jitter: float = Field(default=0, ge=0)

    def draw(self, rng: random.Random) -> float:
        return max(0.0, rng.uniform(self.mean - self.jitter, self.mean + self.jitter))


class FleetQuota(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rpm: int | None = Field(default=None, gt=0)
    rpd: int | None = Field(default=None, gt=0)


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    every_s: float = Field(gt=0)
    for_s: float = Field(gt=0)
    status: int = 503


class SimEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    model: str = "openai/gpt-oss-120b"
    served_model: str | None = None  # what the server accepts, when it differs (renamed model)
    key: str | None = None  # the key this endpoint accepts; default: the fleet key
    key_env: str | None = FLEET_KEY_ENV  # what the written catalogue names; None = keyless
    headers_ms: Spread = Spread(mean=20, jitter=5)
    ttft_ms: Spread = Spread(mean=200, jitter=50)
    tokens_per_s: float = Field(default=150, gt=0)
    reasoning_tokens: int = Field(default=8, ge=0)
    output_tokens: int = Field(default=24, ge=1)
    reasoning_field: Literal["reasoning", "reasoning_content", "none"] = "reasoning"
    usage: bool = True
    fail_rate: dict[Literal["server", "rate_limited", "timeout", "html"], float] = {}
    quota: FleetQuota | None = None  # enforced by the simulated server
    advertised_quota: FleetQuota | None = None  # written to the catalogue (defaults to quota)
    retry_after_s: float | None = None  # override the computed Retry-After
    outage: Outage | None = None
    broken_tools: bool = False
    quality: bank.Flaws = bank.Flaws()  # how it answers the quality bank's tasks
    mode: Mode = "normal"
    error_status: int = Field(default=503, ge=400, le=599)  # what mode "status" answers
    redirect_to: str = "http://127.0.0.2:9/v1/chat"  # where mode "redirect" points
    raw: RawReply = RawReply()  # what mode "raw" answers
    free: bool = True
    price: dict[str, float] | None = None
    enabled: bool = True


class FleetProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = "sim-demo-key-0000"
    seed: int | None = None
    endpoints: list[SimEndpoint]


def load_profile(path: str | Path | None = None) -> FleetProfile:
    if path is None:
        path = data_path("fleet.yaml")
    return FleetProfile.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@dataclass
class _EndpointRuntime:
    sim: SimEndpoint
    minute: deque[float] = field(default_factory=deque)
    day: deque[float] = field(default_factory=deque)
    requests: int = 0


class Fleet:
    """The ASGI app and its bookkeeping (request log, quota windows, outage clock)."""

    def __init__(self, profile: FleetProfile):
        self.profile = profile
        self.rng = random.Random(profile.seed)
        self.started = time.monotonic()
        self.runtime = {e.id: _EndpointRuntime(e) for e in profile.endpoints}
        self.app = Starlette(
            routes=[
                Route("/{eid}/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/{eid}/v1/responses", self.chat, methods=["POST"]),
                Route("/{eid}/v1/models", self.models, methods=["GET"]),
                Route("/_fleet/log", self.log, methods=["GET"]),
            ]
        )

    def request_counts(self) -> dict[str, int]:
        return {eid: rt.requests for eid, rt in self.runtime.items()}

    async def log(self, request: Request) -> Response:
        return JSONResponse(self.request_counts())

    async def models(self, request: Request) -> Response:
        rt = self.runtime.get(request.path_params["eid"])
        if rt is None:
            return _error(404, "no such simulated endpoint")
        return JSONResponse({"object": "list", "data": [{"id": rt.sim.model, "object": "model"}]})

    async def chat(self, request: Request) -> Response:
        """Both /chat/completions and /responses (the Responses API, for Codex)."""
        arrived = anyio.current_time()
        rt = self.runtime.get(request.path_params["eid"])
        if rt is None:
            return _error(404, "no such simulated endpoint")
        rt.requests += 1
        sim = rt.sim
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "the request body is not JSON")
        key = sim.key or self.profile.api_key
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if sim.key_env is not None and sent != key:
            # Real providers echo part of the key; the monitor must redact it.
            return _error(401, f"Invalid API key provided: {sent or '(none)'}", "invalid_api_key")
        if body.get("model") != (sim.served_model or sim.model):
            return _error(404, f"The model `{body.get('model')}` does not exist", "model_not_found")
        if (limited := self._over_quota(rt)) is not None:
            return _error(
                429, "Rate limit reached for requests", "rate_limit_exceeded",
                headers={"retry-after": str(limited), "x-ratelimit-remaining-requests": "0"},
            )  # fmt: skip
        if sim.outage and (time.monotonic() - self.started) % sim.outage.every_s < sim.outage.for_s:
            return _error(sim.outage.status, "The service is temporarily overloaded")
        mode = self._mode(sim)
        if mode == "server":
            return _error(500, "Internal server error")
        if mode == "rate_limited":
            return _error(429, "Too many requests", headers={"retry-after": "2"})
        await _sleep_until(arrived + sim.headers_ms.draw(self.rng) / 1000)
        if mode == "timeout" or mode == "hang":
            # The body is read, so the next message is the client hanging up: no task is left.
            await request.receive()
            return Response(status_code=499)
        if mode == "status":
            return _error(sim.error_status, f"Simulated HTTP {sim.error_status}")
        if mode == "html":
            html = "<html><head><title>502 Bad Gateway</title></head><body>oops</body></html>"
            return Response(html, media_type="text/html")
        if mode == "redirect":
            return Response(status_code=307, headers={"location": sim.redirect_to})
        if mode == "raw":
            return raw_response(sim.raw)
        responses_api = request.url.path.endswith("/responses")
        messages = answers.input_messages(body) if responses_api else body.get("messages")
        answer = answers.decide(
            {**body, "messages": messages},
            self.rng,
            reasoning_tokens=sim.reasoning_tokens,
            output_tokens=sim.output_tokens,
            bank=lambda messages, _tools, rng: _banked(messages, rng, sim.quality),
        )
        reply = (ResponsesReply if responses_api else ChatReply)(
            sim=sim,
            answer=answer,
            arrived=arrived,
            ttft=sim.ttft_ms.draw(self.rng) / 1000,
            mode=mode,
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )
        if not body.get("stream"):
            await _sleep_until(arrived + reply.ttft + reply.tokens() / sim.tokens_per_s)
            return JSONResponse(reply.whole())
        return StreamingResponse(reply.stream(), media_type="text/event-stream")

    def _mode(self, sim: SimEndpoint) -> str:
        roll = self.rng.random()
        for kind, rate in sim.fail_rate.items():
            if roll < rate:
                return kind
            roll -= rate
        return sim.mode

    def _over_quota(self, rt: _EndpointRuntime) -> int | None:
        """Sliding windows; the Retry-After is when the oldest request leaves the window."""
        quota = rt.sim.quota
        if quota is None:
            return None
        now = time.monotonic()
        for window, limit, seen in ((60, quota.rpm, rt.minute), (86400, quota.rpd, rt.day)):
            while seen and seen[0] <= now - window:
                seen.popleft()
            if limit is not None and len(seen) >= limit:
                wait = rt.sim.retry_after_s
                return math.ceil(wait if wait is not None else seen[0] + window - now)
        rt.minute.append(now)
        rt.day.append(now)
        return None


def _banked(
    messages: list[answers.Message], rng: random.Random, flaws: bank.Flaws
) -> answers.Answer | None:
    """A task of the quality bank gets the bank's answer, flawed at the endpoint's rates."""
    reply = bank.reply([dict(m) for m in messages], rng, flaws)
    if reply is None:
        return None
    call = answers.ToolCall(*reply.tool_call) if reply.tool_call else None
    return answers.Answer(reply.reasoning, reply.content, call, reply.finish_reason)


async def _sleep_until(deadline: float) -> None:
    # Always a checkpoint: a stream running behind (or flooding) must not starve the others.
    await anyio.sleep(max(0.0, deadline - anyio.current_time()))


def _error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"message": message, "type": "simulated", "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------- running it


class FleetServer:
    """Run the fleet with uvicorn in a background thread; stops when the `with` block ends.

    With a certificate and key (PEM files) it serves https, e.g. with a self-signed one to
    show how the monitor treats a TLS failure.
    """

    def __init__(
        self,
        profile: FleetProfile,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ):
        import uvicorn

        self.fleet = Fleet(profile)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.scheme = "https" if ssl_certfile else "http"
        # A client still waiting on a hung request must not keep the server from stopping.
        # h11, not httptools: hostile endpoints send header bytes httptools refuses to write.
        config = uvicorn.Config(
            self.fleet.app, log_level="error", lifespan="off", timeout_keep_alive=120,
            access_log=False, timeout_graceful_shutdown=2, ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile, http="h11",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def __enter__(self) -> FleetServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the simulated fleet did not start on {self.base_url}")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()

    def env(self) -> dict[str, str]:
        return {FLEET_KEY_ENV: self.fleet.profile.api_key}


def catalogue_yaml(profile: FleetProfile, base_url: str) -> str:
    """A providers.yaml pointing at the fleet, as a user's catalogue would point at providers."""
    providers = []
    for sim in profile.endpoints:
        entry: dict[str, Any] = {
            "id": sim.id,
            "name": sim.name,
            "base_url": f"{base_url}/{sim.id}/v1",
            "model": sim.model,
        }
        if sim.key_env:
            entry["api_key_env"] = sim.key_env
        entry["free"] = sim.free
        if sim.price:
            entry["price"] = sim.price
        quota = sim.advertised_quota or sim.quota
        if quota:
            entry["quota"] = quota.model_dump(exclude_none=True)
        entry["enabled"] = sim.enabled
        providers.append(entry)
    header = "# SIMULATED endpoints on 127.0.0.1 (oss-monitor fleet); not real providers.\n"
    return header + yaml.safe_dump(
        {"model": "gpt-oss-120b", "providers": providers}, sort_keys=False
    )
