"""A chat completion the tool asked for whole is streamed from the provider and rebuilt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from monitor.router.chat import WholeChat, rebuildable, streamed
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import CHAT, post, routing, seed
from tests.helpers import FLEET_KEY, sim

Start = Callable[..., tuple[FleetServer, Path]]


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_chunks_become_one_completion() -> None:
    whole = WholeChat("gpt-oss-120b", input_tokens=9)
    call = {"index": 0, "id": "call_1", "function": {"name": "read", "arguments": '{"pa'}}
    for piece in [
        chunk({"reasoning": "think "}),
        chunk({"reasoning_content": "more"}),
        chunk({"content": "Hello"}),
        chunk({"content": " there"}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "a"}'}}]}),
        chunk({}, "tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 30}},
    ]:
        assert whole.feed(piece) == b""
    assert whole.finish() == b""
    answer = whole.whole()
    assert answer["object"] == "chat.completion" and answer["model"] == "gpt-oss-120b"
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Hello there"
    assert choice["message"]["reasoning_content"] == "think more"
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "read", "arguments": '{"path": "a"}'},
        }
    ]
    assert answer["usage"] == {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}


def test_what_is_rebuilt_and_what_passes_through() -> None:
    assert rebuildable(CHAT) and rebuildable({**CHAT, "stream": False, "n": 1})
    assert not rebuildable({**CHAT, "stream": True})
    assert not rebuildable({**CHAT, "n": 2}) and not rebuildable({**CHAT, "logprobs": True})
    assert streamed({**CHAT, "stream": False})["stream_options"] == {"include_usage": True}


def test_the_rebuilt_answer_matches_the_providers_whole_answer(
    run_fleet: Start, store: Store
) -> None:
    server, catalogue = run_fleet(sim("only"))
    seed(store, "only", ttft=10)
    with routing(catalogue, store) as url:
        via = post(url, CHAT)
    direct = httpx.post(
        f"{server.base_url}/only/v1/chat/completions",
        json={**CHAT, "model": "openai/gpt-oss-120b"},
        headers={"authorization": f"Bearer {FLEET_KEY}"},
        timeout=30,
    )
    assert via.status_code == direct.status_code == 200, via.text
    got, want = via.json()["choices"][0], direct.json()["choices"][0]
    assert got["message"]["content"] == want["message"]["content"]
    assert "word0 word1" in got["message"]["content"]
    assert got["finish_reason"] == want["finish_reason"]
    assert via.json()["usage"]["completion_tokens"] == direct.json()["usage"]["completion_tokens"]
