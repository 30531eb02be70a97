"""OpenAI Responses <-> chat completions: the pure translation, request and stream."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.router.responses import Responses, to_chat
from monitor.router.translate import Refused
from tests.router.sse import chunk, parse, tool_chunks

SHELL = {
    "type": "function",
    "name": "shell",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
    "strict": False,
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Patch files",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"},
}


def test_codex_shaped_request() -> None:
    """As Codex sends it: instructions, developer and user messages, reasoning items from an
    earlier turn, a call and its output, function, custom and hosted tools."""
    body = {
        "model": "gpt-oss-120b",
        "instructions": "You are Codex.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "sandbox: read-only"}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ls"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "content": None},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Listing."}],
            },
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "shell",
                "arguments": '{"cmd": "ls"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
            {
                "type": "custom_tool_call",
                "call_id": "c2",
                "name": "apply_patch",
                "input": "*** Begin Patch",
            },
            {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"},
        ],
        "tools": [SHELL, PATCH, {"type": "web_search"}, {"type": "namespace", "name": "x"}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "minimal", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k",
    }
    chat, custom = to_chat(body)
    assert custom == {"apply_patch"}
    assert chat["messages"] == [
        {"role": "system", "content": "You are Codex."},
        {"role": "system", "content": "sandbox: read-only"},
        {"role": "user", "content": "ls"},
        {
            "role": "assistant",
            "content": "Listing.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "shell", "arguments": '{"cmd": "ls"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c2",
                    "type": "function",
                    "function": {
                        "name": "apply_patch",
                        "arguments": '{"input": "*** Begin Patch"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c2", "content": "done"},
    ]
    names = [t["function"]["name"] for t in chat["tools"]]
    assert names == ["shell", "apply_patch"]  # hosted tools need OpenAI's servers
    assert chat["tools"][1]["function"]["parameters"]["required"] == ["input"]
    assert chat["tool_choice"] == "auto" and chat["parallel_tool_calls"] is True
    assert chat["reasoning_effort"] == "low" and chat["stream"] is True


def test_string_input_and_output_limits() -> None:
    chat, _ = to_chat(
        {
            "input": "say hi",
            "max_output_tokens": 50,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "o",
                    "schema": {"type": "object"},
                    "strict": True,
                }
            },
        }
    )
    assert chat["messages"] == [{"role": "user", "content": "say hi"}]
    assert chat["max_tokens"] == 50
    assert chat["response_format"]["json_schema"] == {
        "name": "o",
        "schema": {"type": "object"},
        "strict": True,
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "reads text only",
        ),
        ({"input": "hi", "previous_response_id": "resp_1"}, "keeps no responses"),
        ({"input": []}, "non-empty"),
        ({"input": [{"role": "tool", "content": "x"}]}, "role"),
    ],
)
def test_refusals_say_what_to_change(body: dict[str, Any], why: str) -> None:
    with pytest.raises(Refused, match=why):
        to_chat(body)


def events_of(translator: Responses, chunks: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return parse(b"".join(translator.feed(c) for c in chunks) + translator.finish())


def test_stream_reasoning_text_and_completed_usage() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning": "Okay"}),
        chunk({"content": "Hello"}),
        chunk({"content": "!"}),
        chunk({}, "stop"),
        chunk(usage={"prompt_tokens": 20, "completion_tokens": 3}),
    ]
    events = events_of(Responses("gpt-oss-120b", 5), chunks)
    names = [n for n, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [d["sequence_number"] for _, d in events] == list(range(1, len(events) + 1))
    message = events[-2][1]["item"]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [{"type": "output_text", "text": "Hello!", "annotations": []}]
    done = events[-1][1]["response"]
    assert done["status"] == "completed" and [o["type"] for o in done["output"]] == [
        "reasoning",
        "message",
    ]
    # Codex refuses a completion whose usage lacks any of these three.
    assert done["usage"]["input_tokens"] == 20 and done["usage"]["output_tokens"] == 3
    assert done["usage"]["total_tokens"] == 23


def test_stream_function_and_custom_tool_calls() -> None:
    chunks = [
        *tool_chunks("shell", '{"cmd": "ls -la"}'),
        *tool_chunks("apply_patch", '{"input": "*** Begin"}', "call_7", index=1),
        chunk({}, "tool_calls"),
    ]
    translator = Responses("m", 1, custom={"apply_patch"})
    events = events_of(translator, chunks)
    deltas = "".join(d["delta"] for n, d in events if n == "response.function_call_arguments.delta")
    assert json.loads(deltas) == {"cmd": "ls -la"}
    items = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert items[0]["type"] == "function_call" and items[0]["call_id"] == "call_9"
    assert items[0]["arguments"] == '{"cmd": "ls -la"}' and items[0]["name"] == "shell"
    assert items[1] == {
        "type": "custom_tool_call",
        "id": items[1]["id"],
        "status": "completed",
        "call_id": "call_7",
        "name": "apply_patch",
        "input": "*** Begin",
    }
    assert translator.whole()["output"] == items


def test_length_is_incomplete() -> None:
    events = events_of(Responses("m", 1), [chunk({"content": "a"}), chunk({}, "length")])
    assert events[-1][0] == "response.incomplete"
    assert events[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_cut_is_response_failed() -> None:
    translator = Responses("m", 1)
    events = parse(translator.feed(chunk({"content": "Hel"})) + translator.fail("it broke"))
    assert [n for n, _ in events][-2:] == ["error", "response.failed"]
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"] == "it broke"
    assert "response.completed" not in [n for n, _ in events]
