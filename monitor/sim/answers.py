"""What a simulated endpoint answers, decided like a model would (pure: no I/O, no timing).

A plain prompt gets reasoning, then plain text. A tool call comes only when the request offers
`tools` and either forces one (`tool_choice`) or the last user message asks for one (names a
declared tool, or says "use the … tool"), as the tool probe's prompt does. After a tool result
the answer is text again. A coding tool talking to the fleet therefore finishes its turn instead
of looping on tool calls. The fleet renders an `Answer` as chat-completions chunks or Responses
API events; hostile modes are the fleet's business, not this module's.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Message = Mapping[str, Any]
Tool = Mapping[str, Any]

MAX_TEXT = 20_000  # characters of one message we look at: request bodies are untrusted
# Tools wrap context into the user's message (skills, dates, tool lists): not what the user asked.
INJECTED = re.compile(r"<system-reminder>.*?(?:</system-reminder>|$)", re.S)
ASKS_FOR_A_TOOL = re.compile(
    r"\b(?:use|call|run|invoke)\s+(?:the\s+|a\s+|your\s+)?[\w.-]*\s*tool\b"
)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the API carries it


@dataclass(frozen=True)
class Answer:
    reasoning: str
    content: str
    tool_call: ToolCall | None = None
    finish: str | None = None  # "length" for a truncated answer; else from the tool call

    @property
    def finish_reason(self) -> str:
        return self.finish or ("tool_calls" if self.tool_call else "stop")


# Another module (e.g. a bank of quality prompts) may answer some prompts itself: it gets the
# messages, the declared tools and the fleet's random generator, and returns None to pass.
Bank = Callable[[list[Message], list[Tool], random.Random], Answer | None]


def decide(
    body: Mapping[str, Any],
    rng: random.Random,
    *,
    reasoning_tokens: int,
    output_tokens: int,
    bank: Bank | None = None,
) -> Answer:
    """The answer to one chat request; `*_tokens` size the canned parts, one word per token."""
    messages = [m for m in _list(body.get("messages")) if isinstance(m, Mapping)]
    tools = [t for t in _list(body.get("tools")) if _tool_name(t)]
    if bank is not None and (banked := bank(messages, tools, rng)) is not None:
        return banked
    reasoning = "".join("thinking " if i else "Okay, " for i in range(reasoning_tokens))
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        result = _text(last.get("content"))[:200].strip() or "nothing"
        return Answer(reasoning, f"The tool answered: {result}")
    if tools and (tool := _wanted_tool(body.get("tool_choice"), tools, _last_user(messages))):
        return Answer(reasoning, "", ToolCall(tool, _arguments(tool, tools)))
    return Answer(reasoning, "".join(f"word{i} " for i in range(output_tokens)))


def input_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Responses API request's `input` as chat messages, so `decide` reads both APIs."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    messages: list[dict[str, Any]] = []
    for item in _list(raw):
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "function_call_output":
            messages.append({"role": "tool", "content": _text(item.get("output"))})
        elif item.get("role") in ("user", "assistant", "system", "developer"):
            messages.append({"role": item["role"], "content": _text(item.get("content"))})
    return messages


def _wanted_tool(choice: Any, tools: list[Tool], asked: str) -> str | None:
    names = [_tool_name(t) for t in tools]
    if choice == "none":
        return None
    if isinstance(choice, Mapping):  # {"type": "function", "function": {"name": ...}}
        forced = choice.get("name") or _list_get(choice.get("function"), "name")
        if forced in names:
            return str(forced)
    lowered = asked.lower()
    named = [n for n in names if re.search(rf"\b{re.escape(n.lower())}\b", lowered)]
    if named:
        return named[0]
    if choice == "required" or ASKS_FOR_A_TOOL.search(lowered):
        return names[0]
    return None


def _arguments(name: str, tools: list[Tool]) -> str:
    """Plausible arguments: the weather tool gets Paris, others a value per required field."""
    schema = next((_function(t).get("parameters") for t in tools if _tool_name(t) == name), None)
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    required = schema.get("required") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return "{}"
    fields = [f for f in _list(required) if isinstance(f, str)] or list(properties)[:1]
    sample = {"string": "Paris", "integer": 1, "number": 1, "boolean": False, "array": []}
    values = {}
    for field in fields:
        spec = properties.get(field)
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        values[field] = sample.get(kind, "Paris") if isinstance(kind, str) else "Paris"
    return json.dumps(values)


def _last_user(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return INJECTED.sub(" ", _text(message.get("content")))
    return ""


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content[:MAX_TEXT]
    parts = [p.get("text") for p in _list(content) if isinstance(p, Mapping)]
    return " ".join(p for p in parts if isinstance(p, str))[:MAX_TEXT]


def _function(tool: Any) -> Mapping[str, Any]:
    """Chat tools nest the function (`{"function": {...}}`); Responses tools are flat."""
    if not isinstance(tool, Mapping):
        return {}
    inner = tool.get("function")
    return inner if isinstance(inner, Mapping) else tool


def _tool_name(tool: Any) -> str:
    name = _function(tool).get("name")
    return name if isinstance(name, str) and 0 < len(name) <= 128 else ""


def _list(value: Any) -> list[Any]:
    return value[:1000] if isinstance(value, list) else []


def _list_get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None
