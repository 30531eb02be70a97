"""The three APIs end to end: a real fleet on 127.0.0.1, the router in a thread, httpx as the
tool. Streaming and not, usage, tool calls, a mid-stream cut, errors in each API's shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.sim.fleet import FleetProfile, FleetServer, catalogue_yaml
from monitor.store import Store
from tests.e2e.test_router import STREAM, post, routing, seed, traffic
from tests.helpers import FLEET_KEY, sim
from tests.router.sse import parse

Start = Callable[..., tuple[FleetServer, Path]]
ASK = [{"role": "user", "content": "Say hi."}]
# The fleet calls a tool only when asked to, like a model (monitor/sim/answers.py).
ASK_TOOL = [{"role": "user", "content": "Weather in Paris? Use the get_weather tool."}]
WEATHER = {"name": "get_weather", "input_schema": {"type": "object"}}


def call(url: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/{path}", json=body, headers=headers, timeout=30)


def messages(url: str, **body: Any) -> httpx.Response:
    return call(url, "messages", {"model": "claude-sonnet-4-5", "max_tokens": 100,
                                  "messages": ASK, **body})  # fmt: skip


def responses(url: str, **body: Any) -> httpx.Response:
    return call(url, "responses", {"model": "gpt-oss-120b", "input": "Say hi.", **body})


@pytest.fixture
def fleet(run_fleet: Start) -> tuple[FleetServer, Path]:
    return run_fleet(sim("good"))


def test_messages_stream_and_whole(fleet: tuple[FleetServer, Path], store: Store) -> None:
    _, catalogue = fleet
    with routing(catalogue, store) as url:
        streamed = messages(url, stream=True)
        whole = messages(url)
        tool = messages(url, stream=True, tools=[WEATHER], messages=ASK_TOOL)
        counted = call(url, "messages/count_tokens", {"model": "x", "messages": ASK})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = parse(streamed.content)
    text = "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
    assert text.startswith("word0 word1") and events[-1][0] == "message_stop"
    delta = events[-2][1]
    # The fleet streams 8 reasoning and 24 answer tokens, and reports 20 prompt tokens.
    assert delta["usage"] == {"input_tokens": 20, "output_tokens": 32}
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert [d["content_block"]["type"] for n, d in events if n == "content_block_start"] == [
        "thinking", "text"]  # fmt: skip
    body = whole.json()
    assert whole.status_code == 200 and body["model"] == "claude-sonnet-4-5"
    assert body["content"][1]["text"].startswith("word0") and body["stop_reason"] == "end_turn"
    assert whole.headers["x-oss-monitor-endpoint"] == "good"
    calls = [d for n, d in parse(tool.content) if n == "content_block_start"]
    assert calls[-1]["content_block"]["name"] == "get_weather"
    assert parse(tool.content)[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert counted.json()["input_tokens"] > 0
    assert traffic(store) == [("good", True, None)] * 3


def test_responses_stream_and_whole(fleet: tuple[FleetServer, Path], store: Store) -> None:
    _, catalogue = fleet
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tools = [{"type": "function", "name": "get_weather", "parameters": city}]
    with routing(catalogue, store) as url:
        streamed = responses(url, stream=True)
        whole = responses(url)
        tool = responses(
            url, stream=True, tools=tools, input="Weather in Paris? Use the get_weather tool."
        )
    events = parse(streamed.content)
    text = "".join(d["delta"] for n, d in events if n == "response.output_text.delta")
    assert text.startswith("word0 word1") and events[-1][0] == "response.completed"
    usage = events[-1][1]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (20, 32, 52)
    body = whole.json()
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["output"][-1]["content"][0]["text"].startswith("word0")
    done = [d["item"] for n, d in parse(tool.content) if n == "response.output_item.done"]
    assert done[-1]["type"] == "function_call" and json.loads(done[-1]["arguments"]) == {
        "city": "Paris"}  # fmt: skip


def test_a_mid_stream_cut_is_each_apis_error(run_fleet: Start, store: Store) -> None:
    server, catalogue = run_fleet(sim("cut", mode="cut"), sim("good"))
    seed(store, "cut", ttft=10)
    seed(store, "good", ttft=400)
    with routing(catalogue, store) as url:
        anthropic = messages(url, stream=True)
        openai = responses(url, stream=True)
        whole = messages(url)
    events = parse(anthropic.content)
    assert events[-1][0] == "error" and "broke after the answer began" in json.dumps(events[-1])
    assert "message_stop" not in [n for n, _ in events]
    names = [n for n, _ in parse(openai.content)]
    assert names[-2:] == ["error", "response.failed"] and "response.completed" not in names
    assert whole.status_code == 502 and whole.json()["type"] == "error"
    assert "incomplete" in whole.json()["error"]["message"]
    assert server.fleet.request_counts()["good"] == 0  # never switched silently


def test_errors_come_in_each_apis_shape(fleet: tuple[FleetServer, Path], store: Store) -> None:
    _, catalogue = fleet
    image = [{"role": "user", "content": [{"type": "image", "source": {}}]}]
    with routing(catalogue, store, token="tok-1") as url:
        denied = messages(url)
        denied_responses = responses(url)
        refused = messages(url, messages=image)
        lower = call(url, "messages", {"messages": ASK}, authorization="bearer tok-1")
        api_key = call(url, "messages", {"messages": ASK}, **{"x-api-key": "tok-1"})
        upper = post(url, STREAM, authorization="BEARER tok-1")
        with_key = call(url, "messages", {"messages": image}, **{"x-api-key": "tok-1"})
    assert denied.status_code == 401 and denied.json()["type"] == "error"
    assert denied.json()["error"]["type"] == "authentication_error"
    assert denied_responses.status_code == 401 and "error" in denied_responses.json()
    assert refused.status_code == 401  # the token is checked first
    assert lower.status_code == api_key.status_code == upper.status_code == 200
    assert with_key.status_code == 400
    assert with_key.json()["error"] == {"type": "invalid_request_error", "message": (
        "this router serves gpt-oss-120b, which reads text only: remove the image or "
        "document from the conversation and send it again")}  # fmt: skip


def test_no_endpoint_is_an_anthropic_error(run_fleet: Start, store: Store) -> None:
    _, catalogue = run_fleet(sim("locked", key="sk-other-key-0000000"))
    seed(store, "locked", ttft=10, ok=(False,))
    with routing(catalogue, store) as url:
        first = messages(url)  # tried as a last resort: the key is refused
        second = messages(url)
    assert first.status_code == 502 and first.json()["error"]["type"] == "api_error"
    assert "locked" in first.json()["error"]["message"]
    assert second.status_code in (502, 503) and second.json()["type"] == "error"


class RateHeaders:
    """ASGI middleware on the fleet: provider rate-limit headers on every answer."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-ratelimit-remaining-requests", b"41"),
                                      (b"x-ratelimit-reset-tokens", b"6m0s\x7f")]  # fmt: skip
            await send(message)

        await self.app(scope, receive, sending)


def test_rate_limit_headers_are_passed_on(tmp_path: Path, store: Store) -> None:
    profile = FleetProfile(api_key=FLEET_KEY, seed=1, endpoints=[sim("only")])
    server = FleetServer(profile)
    server.fleet.app.add_middleware(RateHeaders)
    catalogue = tmp_path / "fleet.yaml"
    catalogue.write_text(catalogue_yaml(profile, server.base_url))
    with server, routing(catalogue, store) as url:
        chat = post(url, STREAM)
        anthropic = messages(url)
    for answer in (chat, anthropic):
        assert answer.headers["x-ratelimit-remaining-requests"] == "41"
        assert answer.headers["x-ratelimit-reset-tokens"] == "6m0s"  # control bytes dropped


def test_first_token_deadline_holds_for_whole_answers(run_fleet: Start, store: Store) -> None:
    _, catalogue = run_fleet(sim("slow", ttft_ms={"mean": 3000}), sim("good"))
    seed(store, "slow", ttft=10)
    seed(store, "good", ttft=400)
    with routing(catalogue, store, first_token_s=0.5) as url:
        answer = messages(url)  # not streamed by the client; streamed upstream
        codex = responses(url)
    assert answer.status_code == 200 and answer.headers["x-oss-monitor-failovers"] == "1"
    assert answer.headers["x-oss-monitor-endpoint"] == "good"
    assert codex.status_code == 200 and codex.headers["x-oss-monitor-endpoint"] == "good"
