"""The simulated fleet answers like a model: text for a plain prompt, a tool call when asked."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from monitor.core.models import ProbeKind, ProbeSettings
from monitor.probe import TOOLS, payload
from monitor.sim.answers import Answer, ToolCall, decide, input_messages

COMMAND = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
BASH = {"type": "function", "function": {"name": "bash", "parameters": COMMAND}}


def answer(body: dict[str, Any], **kwargs: Any) -> Answer:
    return decide(body, random.Random(1), reasoning_tokens=3, output_tokens=4, **kwargs)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You may use tools."}, {"role": "user", "content": text}]


def test_a_plain_prompt_gets_reasoning_then_text_even_when_tools_are_offered() -> None:
    got = answer({"messages": user("Say hello."), "tools": [*TOOLS, BASH]})
    assert got.reasoning == "Okay, thinking thinking "
    assert got.content == "word0 word1 word2 word3 " and got.tool_call is None
    assert got.finish_reason == "stop"


def test_the_tool_probe_prompt_gets_a_tool_call() -> None:
    got = answer(payload(ProbeKind.TOOLS, ProbeSettings()))
    assert got.tool_call == ToolCall("get_weather", json.dumps({"city": "Paris"}))
    assert got.content == "" and got.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("text", "choice", "wanted"),
    [
        ("List the files, use the bash tool.", "auto", "bash"),  # named
        ("Please call a tool for this.", "auto", "get_weather"),  # any tool: the first
        ("Say hi.", "required", "get_weather"),  # forced by tool_choice
        ("Say hi.", {"type": "function", "function": {"name": "bash"}}, "bash"),
        ("Use the bash tool.", "none", None),  # tool_choice none wins
    ],
)
def test_a_tool_call_only_when_asked_or_forced(text: str, choice: Any, wanted: str | None) -> None:
    got = answer({"messages": user(text), "tools": [*TOOLS, BASH], "tool_choice": choice})
    assert (got.tool_call.name if got.tool_call else None) == wanted


def test_context_a_tool_injects_into_the_prompt_is_not_a_request() -> None:
    reminder = "<system-reminder>Invoke a skill with the bash tool.</system-reminder>"
    parts = [{"type": "text", "text": reminder}, {"type": "text", "text": "Say hello."}]
    got = answer({"messages": [{"role": "user", "content": parts}], "tools": [BASH]})
    assert got.tool_call is None


def test_no_tool_call_without_tools_and_text_after_a_tool_result() -> None:
    assert answer({"messages": user("Use the get_weather tool.")}).tool_call is None
    after = [*user("Use the get_weather tool."), {"role": "tool", "content": "21 C, sunny"}]
    got = answer({"messages": after, "tools": TOOLS})
    assert got.tool_call is None and got.content == "The tool answered: 21 C, sunny"


def test_content_parts_and_responses_api_input_are_read() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "Use the bash tool"}]}]
    assert answer({"messages": parts, "tools": [BASH]}).tool_call == ToolCall(
        "bash", '{"command": "Paris"}'
    )
    flat = {"type": "function", "name": "bash", "parameters": BASH["function"]["parameters"]}
    body = {"input": [{"role": "user", "content": [{"type": "input_text", "text": "use bash"}]}]}
    assert answer({"messages": input_messages(body), "tools": [flat]}).tool_call is not None
    body = {"input": [{"type": "function_call_output", "call_id": "c", "output": "ok"}]}
    assert answer({"messages": input_messages(body)}).content == "The tool answered: ok"


def test_hostile_bodies_get_an_answer_not_an_exception() -> None:
    for body in ({}, {"messages": "x"}, {"messages": [1, None]}, {"tools": [{"function": 3}]}):
        assert answer(body).finish_reason == "stop"


def test_a_bank_answers_first_and_may_pass() -> None:
    seen: list[tuple[int, int]] = []

    def bank(messages: list[Any], tools: list[Any], rng: random.Random) -> Answer | None:
        seen.append((len(messages), len(tools)))
        return Answer("", "42") if "meaning" in messages[-1]["content"] else None

    assert (
        answer({"messages": user("The meaning of life?"), "tools": TOOLS}, bank=bank).content
        == "42"
    )
    assert answer({"messages": user("Say hi.")}, bank=bank).content.startswith("word0")
    assert seen == [(2, 1), (2, 0)]
