"""The quality canary (issue 18): a bank of exactly checkable tasks, rotated per endpoint.

A quality probe sends one bank item (`pick`, `payload`) and `check`s the reply by code, never
by another model. Checkers are exact about the value and tolerant about its wrapping: prose,
markdown fences, bold, quotes, a trailing period. A reply cut by max_tokens is `truncated`, not
wrong; one that only reasoned is `reasoning_only`; harmony markup in the answer is `leaked`.
The statistics live in `monitor.quality_stats`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.core.data import data_path

Family = Literal["arith", "string", "json", "tool", "twoturn"]
MAX_TOKENS = 256  # every item fits this at reasoning_effort low
RECEIVED_CHARS = 200
CHECKED_CHARS = 4096  # a terse answer is far shorter; bounds the parsing of hostile replies
_SHAPES: dict[str, tuple[type, str]] = {
    "arith": (int, "an integer"),
    "string": (str, "a string"),
    "twoturn": (str, "a string"),
    "json": (dict, "an object"),
    "tool": (dict, "an object {name, arguments}"),
}


class Failure(StrEnum):
    WRONG = "wrong"
    TRUNCATED = "truncated"  # finish_reason "length": the budget ran out, not the model's fault
    UNPARSABLE = "unparsable"  # no value of the asked shape (integer, JSON object, JSON args)
    REFUSED = "refused"
    TOOL_ARGS = "tool_args"  # the right tool with other arguments than the prompt stated
    REASONING_ONLY = "reasoning_only"  # reasoning arrived, no answer
    LEAKED = "leaked"  # reasoning markup (harmony channels) inside the answer


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class Task(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z]+-\d{2}$")
    family: Family
    messages: list[Message] = Field(min_length=1)
    tools: list[dict[str, Any]] = []
    expected: int | str | dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        if not self.id.startswith(f"{self.family}-"):
            raise ValueError(f"{self.id}: the id must start with its family {self.family!r}")
        if self.messages[-1].role != "user":
            raise ValueError(f"{self.id}: the last message must be the user's question")
        shape, name = _SHAPES[self.family]
        if not isinstance(self.expected, shape):
            raise ValueError(f"{self.id}: a {self.family} item expects {name}")
        if (self.family == "tool") != bool(self.tools):
            raise ValueError(f"{self.id}: tools go with the tool family, and only with it")
        if self.family == "tool":
            names = {t.get("function", {}).get("name") for t in self.tools}
            call = self.expected
            if not (isinstance(call, dict) and call.get("name") in names):
                raise ValueError(f"{self.id}: expected.name must be one of the offered tools")
            if not isinstance(call.get("arguments"), dict):
                raise ValueError(f"{self.id}: expected.arguments must be an object")
        return self

    @property
    def question(self) -> str:
        return self.messages[-1].content


class ToolCall(BaseModel):
    name: str
    arguments: str  # raw, as streamed: may be anything


class Answer(BaseModel):
    """What came back, as the probe assembled it from the stream."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = []
    finish_reason: str | None = None


class Verdict(BaseModel):
    task_id: str
    passed: bool
    failure: Failure | None = None
    expected: str
    received: str


# ---------------------------------------------------------------- the bank


def read_bank(path: Path) -> tuple[Task, ...]:
    """Items with their tool names replaced by the definitions; last questions are unique."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tools: dict[str, Any] = raw.get("tools") or {}
    tasks = []
    for item in raw["tasks"]:
        unknown = [name for name in item.get("tools", []) if name not in tools]
        if unknown:
            raise ValueError(f"{item.get('id')}: unknown tools {unknown}")
        tasks.append(
            Task.model_validate({**item, "tools": [tools[n] for n in item.get("tools", [])]})
        )
    for attribute in ("id", "question"):
        values = [getattr(t, attribute) for t in tasks]
        if len(set(values)) != len(values):
            raise ValueError(f"{path}: two items share a {attribute}")
    return tuple(tasks)


@cache
def load_bank() -> tuple[Task, ...]:
    return read_bank(data_path("quality.yaml"))


def pick(endpoint_id: str, counter: int, bank: Sequence[Task] | None = None) -> Task:
    """The `counter`-th item for this endpoint: each cycle of len(bank) probes visits every item
    once, in an order of its own per endpoint and per cycle (so no fixed item sequence to game)."""
    tasks = bank if bank is not None else load_bank()
    cycle, slot = divmod(counter, len(tasks))
    digest = hashlib.sha256(f"{endpoint_id}/{cycle}".encode()).digest()
    order = random.Random(int.from_bytes(digest[:8], "big")).sample(range(len(tasks)), len(tasks))
    return tasks[order[slot]]


def payload(task: Task, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    """The chat-completions body (the dialect layer adapts it per provider like any probe's)."""
    body: dict[str, Any] = {
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": max_tokens,
        "reasoning_effort": "low",
        "messages": [m.model_dump() for m in task.messages],
    }
    if task.tools:
        body["tools"] = [dict(t) for t in task.tools]
        body["tool_choice"] = "auto"
    return body


# ---------------------------------------------------------------- reading an answer

_HARMONY = re.compile(r"<\|(?:start|end|channel|message|return|call|constrain)\|>")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)  # a dialect, not a defect: dropped
_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)```", re.S)
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|`([^`\n]+)`|\"([^\"\n]+)\"|\\boxed\{([^}]*)\}")
_LEAD_IN = re.compile(r".*(?:\bis\b|:|=)\s*(.+?)\s*$")  # greedy: the last one
_INTEGER = re.compile(r"[-−]?\d{1,3}(?:,\d{3})+(?!\d)|[-−]?\d+")
_REFUSAL = re.compile(
    r"\bI(?:'m| am) (?:sorry|unable|not able)|\bI (?:can(?:no|')t|won't|will not) "
    r"(?:help|assist|do|answer|comply|provide)",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")
_WRAPPING = " \t\n\"'`*_“”‘’"


def _strip(text: str) -> str:
    """Wrapping around a value: quotes, bold, code ticks, a trailing period or bang."""
    return text.strip(_WRAPPING).rstrip(".!").strip(_WRAPPING)


def candidates(content: str) -> list[str]:
    """Where a reply may hold its answer: the whole reply unwrapped, each fenced block and
    emphasized span, what follows a last "is"/":"/"=", the last line and the last word."""
    text = _THINK.sub("", content).strip()
    found = [text, *_FENCE.findall(text)]
    found += [next(g for g in m.groups() if g is not None) for m in _EMPHASIS.finditer(text)]
    lines = [line for line in _FENCE.sub(lambda m: m.group(1), text).splitlines() if line.strip()]
    if lines:
        found.append(lines[-1])
        if lead_in := _LEAD_IN.search(lines[-1][-RECEIVED_CHARS:]):
            found.append(lead_in.group(1))
        found.append(lines[-1].split()[-1])
    unique = dict.fromkeys(_strip(c) for c in found)
    return [c for c in unique if c]


def _integer(text: str) -> int | None:
    if _INTEGER.fullmatch(text):
        return int(text.replace(",", "").replace("−", "-"))
    return None


def _integers(content: str) -> list[int]:
    values = [v for c in candidates(content) if (v := _integer(c)) is not None]
    numbers = {_integer(m) for m in _INTEGER.findall(_THINK.sub("", content))}
    if len(numbers) == 1:  # a lone number in prose ("He has 99 apples.") is the answer
        values += [n for n in numbers if n is not None]
    return values


def _objects(content: str) -> list[Any]:
    """JSON values found whole, in fences, or between the first "{" and the last "}"."""
    text = _THINK.sub("", content)
    spans = [text, *_FENCE.findall(text)]
    if "{" in text and "}" in text:
        spans.append(text[text.index("{") : text.rindex("}") + 1])
    parsed = []
    for span in spans:
        try:
            parsed.append(json.loads(span))
        except (ValueError, RecursionError):  # RecursionError: absurd nesting
            continue
    return parsed


def same(a: Any, b: Any) -> bool:
    """JSON equality where true is not 1 and "7" is not 7 (Python's == says otherwise)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def clean(text: str, limit: int = RECEIVED_CHARS) -> str:
    """Provider text made safe to store and show: no control characters, bounded."""
    text = " ".join(_CONTROL.sub(" ", text[: limit * 4]).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _shown(task: Task) -> str:
    if task.family == "tool":
        assert isinstance(task.expected, dict)
        return f"{task.expected['name']}({_show(task.expected['arguments'])})"
    return _show(task.expected)


def _received(answer: Answer) -> str:
    calls = [f"{c.name}({c.arguments})" for c in answer.tool_calls]
    if answer.content.strip() or calls:
        return clean(" ".join([answer.content, *calls]))
    return clean(f"(reasoning only) {answer.reasoning}") if answer.reasoning.strip() else ""


# ---------------------------------------------------------------- checking


def _check_tool(task: Task, answer: Answer) -> Failure | None:
    assert isinstance(task.expected, dict)
    if not answer.tool_calls:
        return Failure.WRONG  # answered in text
    call = answer.tool_calls[0]
    if call.name != task.expected["name"]:
        return Failure.WRONG
    try:
        arguments = json.loads(call.arguments[:CHECKED_CHARS])
    except (ValueError, RecursionError):
        return Failure.UNPARSABLE
    if not isinstance(arguments, dict):
        return Failure.UNPARSABLE
    return None if same(arguments, task.expected["arguments"]) else Failure.TOOL_ARGS


def _check_text(task: Task, content: str) -> Failure | None:
    expected = task.expected
    if task.family == "arith":
        values = _integers(content)
        if not values:
            return Failure.UNPARSABLE
        return None if expected in values else Failure.WRONG
    if task.family == "json":
        objects = [o for o in _objects(content) if isinstance(o, dict)]
        if not objects:
            return Failure.UNPARSABLE
        return None if any(same(o, expected) for o in objects) else Failure.WRONG
    assert isinstance(expected, str)
    if task.family == "twoturn":
        return (
            None if expected.casefold() in map(str.casefold, candidates(content)) else Failure.WRONG
        )
    return None if expected in candidates(content) else Failure.WRONG


def _failure(task: Task, answer: Answer) -> Failure | None:
    if answer.finish_reason == "length":
        return Failure.TRUNCATED
    streamed = [answer.content, *(c.name + c.arguments for c in answer.tool_calls)]
    if any(_HARMONY.search(text[:CHECKED_CHARS]) for text in streamed):
        return Failure.LEAKED
    if not answer.content.strip() and not answer.tool_calls:
        return Failure.REASONING_ONLY if answer.reasoning.strip() else Failure.UNPARSABLE
    content = answer.content[:CHECKED_CHARS]
    found = _check_tool(task, answer) if task.family == "tool" else _check_text(task, content)
    if found in (Failure.WRONG, Failure.UNPARSABLE) and _REFUSAL.search(content):
        return Failure.REFUSED
    return found


def check(task: Task, answer: Answer) -> Verdict:
    failure = _failure(task, answer)
    return Verdict(
        task_id=task.id,
        passed=failure is None,
        failure=failure,
        expected=clean(_shown(task)),
        received=_received(answer),
    )
