"""Anthropic Messages <-> chat completions: the pure translation, request and stream."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.router.anthropic import Messages, count_tokens, to_chat
from monitor.router.translate import Refused
from tests.router.sse import chunk, parse, tool_chunks

WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_request_system_turns_tools_and_results() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should call it", "signature": "x"},
                    {"type": "text", "text": "Let me look."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "18 C"}],
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        "tools": [WEATHER, {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 0.2,
        "stream": False,
    }
    chat = to_chat(body)
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief.\n\nBe kind."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18 C"},
        {"role": "user", "content": "And tomorrow?"},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER["input_schema"],
            },
        }
    ]
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stop"] == ["END"] and chat["max_tokens"] == 1000 and chat["temperature"] == 0.2
    # The upstream always streams, so the first-token deadline holds for whole answers too.
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert "model" not in chat


def test_request_string_system_and_thinking_budget() -> None:
    body = {
        "system": "Hi",
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    chat = to_chat(body)
    assert chat["messages"][0] == {"role": "system", "content": "Hi"}
    assert chat["reasoning_effort"] == "low"
    assert to_chat({**body, "output_config": {"effort": "max"}})["reasoning_effort"] == "high"


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}],
        [
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image"}]}
                ],
            }
        ],
        [{"role": "user", "content": [{"type": "document"}]}],
    ],
)
def test_images_are_refused_clearly(messages: list[Any]) -> None:
    with pytest.raises(Refused, match="reads text only: remove the image"):
        to_chat({"messages": messages})


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": []},
        {"messages": [{"role": "tool"}]},
        {"messages": [{"role": "user", "content": 3}]},
    ],
)
def test_malformed_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(Refused):
        to_chat(body)


def test_count_tokens_is_an_estimate() -> None:
    counted = count_tokens({"messages": [{"role": "user", "content": "x" * 400}]})
    assert 100 <= counted["input_tokens"] <= 110 and "estimate" in counted["oss_monitor_note"]


def stream(translator: Messages, chunks: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    raw = b"".join(translator.feed(c) for c in chunks) + translator.finish()
    return parse(raw)


def test_stream_thinking_text_usage() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning": "Okay, "}),
        chunk({"reasoning_content": "think."}),
        chunk({"content": "Hello"}),
        chunk({"content": " there"}),
        chunk({}, "stop"),
        chunk(usage={"prompt_tokens": 20, "completion_tokens": 4}),
    ]
    events = stream(Messages("claude-sonnet-4-5", 7), chunks)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["model"] == "claude-sonnet-4-5" and start["usage"]["input_tokens"] == 7
    assert events[2][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    assert events[4][1]["delta"] == {"type": "thinking_delta", "thinking": "think."}
    assert events[7][1] == {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "text_delta", "text": "Hello"},
    }
    assert events[10][1]["delta"]["stop_reason"] == "end_turn"
    assert events[10][1]["usage"] == {"input_tokens": 20, "output_tokens": 4}


def test_stream_tool_use_with_input_json_deltas() -> None:
    chunks = [
        chunk({"content": "Checking."}),
        *tool_chunks("get_weather", '{"city": "Paris"}'),
        chunk({}, "tool_calls"),
    ]
    translator = Messages("m", 1)
    events = stream(translator, chunks)
    start = next(d for n, d in events if n == "content_block_start" and d["index"] == 1)
    assert start["content_block"] == {
        "type": "tool_use",
        "id": "call_9",
        "name": "get_weather",
        "input": {},
    }
    partial = "".join(
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial) == {"city": "Paris"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    whole = translator.whole()
    assert whole["content"][1] == {
        "type": "tool_use",
        "id": "call_9",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }


def test_whole_message_and_stop_reasons() -> None:
    translator = Messages("claude-haiku", 3)
    for c in [chunk({"content": "Hi"}), chunk({}, "length")]:
        translator.feed(c)
    translator.finish()
    whole = translator.whole()
    assert whole["type"] == "message" and whole["role"] == "assistant"
    assert whole["content"] == [{"type": "text", "text": "Hi"}]
    assert whole["stop_reason"] == "max_tokens" and whole["model"] == "claude-haiku"


def test_a_whole_completion_reads_as_one_chunk() -> None:
    """A provider that ignored `stream: true` answers with `message`, not `delta`."""
    translator = Messages("m", 1)
    completion = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "hmm",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9},
    }
    translator.feed(completion)
    translator.finish()
    whole = translator.whole()
    assert [b["type"] for b in whole["content"]] == ["thinking", "tool_use"]
    assert whole["stop_reason"] == "tool_use" and whole["usage"]["output_tokens"] == 9


def test_a_cut_is_an_error_event_not_a_silent_end() -> None:
    translator = Messages("m", 1)
    raw = translator.feed(chunk({"content": "Hel"})) + translator.fail("the stream broke")
    events = parse(raw)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "api_error", "message": "the stream broke"}},
    )
    assert "message_stop" not in [n for n, _ in events]
    assert translator.error == "the stream broke"
