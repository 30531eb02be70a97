"""The fleet over HTTP: chat completions (streamed and whole) and the Responses API for Codex."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from monitor.probe import TOOLS
from monitor.sim.fleet import FleetServer
from tests.helpers import FLEET_KEY, sim

Start = Callable[..., tuple[FleetServer, Path]]
AUTH = {"authorization": f"Bearer {FLEET_KEY}"}
ASK = "Weather in Paris? Use the get_weather tool."


def post(server: FleetServer, route: str, body: dict[str, Any]) -> httpx.Response:
    url = f"{server.base_url}/e/v1/{route}"
    return httpx.post(url, json={"model": "openai/gpt-oss-120b", **body}, headers=AUTH, timeout=10)


def events(raw: str) -> list[dict[str, Any]]:
    lines = [line[5:].strip() for line in raw.splitlines() if line.startswith("data:")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def test_whole_chat_answers_carry_text_or_the_tool_call(run_fleet: Start) -> None:
    server, _ = run_fleet(sim("e", output_tokens=3))
    plain = post(server, "chat/completions", {"messages": [{"role": "user", "content": "Hi"}]})
    message = plain.json()["choices"][0]["message"]
    assert message["content"] == "word0 word1 word2 " and message["reasoning"].startswith("Okay")
    asked = post(server, "chat/completions",
                 {"messages": [{"role": "user", "content": ASK}], "tools": TOOLS})  # fmt: skip
    choice = asked.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Paris"
    }


def test_the_responses_api_streams_reasoning_text_and_completion(run_fleet: Start) -> None:
    server, _ = run_fleet(sim("e", output_tokens=3))
    raw = post(server, "responses", {"input": "Say hi.", "stream": True}).text
    kinds = [e["type"] for e in events(raw)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e["delta"] for e in events(raw) if e["type"] == "response.output_text.delta")
    assert text == "word0 word1 word2 "
    assert "response.reasoning_text.delta" in kinds
    done = events(raw)[-1]["response"]
    assert [item["type"] for item in done["output"]] == ["reasoning", "message"]
    flat_tools = [{"type": "function", **TOOLS[0]["function"]}]
    called = post(server, "responses", {"input": ASK, "tools": flat_tools}).json()
    assert called["output"][-1]["type"] == "function_call"
    assert called["output"][-1]["name"] == "get_weather"
