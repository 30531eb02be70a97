"""Answers to the quality bank for the simulated fleet: right, or wrong on purpose.

The fleet finds a bank item by the request's last user message and answers it as a model
would (sometimes in prose, bold or a fence), or, at the rates an endpoint's profile sets:
wrongly, cut by max_tokens, with reasoning markup leaked into the content, or with broken
tool-call arguments. Like the rest of the fleet it knows nothing of the monitor: it reads
`data/quality.yaml` itself. Pure functions; the caller passes the random source.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.core.data import data_path

REASONING = "The user wants a terse answer. Work it out, then give only the result."


class Flaws(BaseModel):
    """Exclusive rates (one roll per reply) at which an endpoint answers badly."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    wrong: float = Field(default=0, ge=0, le=1)
    truncate: float = Field(default=0, ge=0, le=1)  # half an answer, finish_reason "length"
    leak: float = Field(default=0, ge=0, le=1)  # harmony channels in the content
    mangle_tools: float = Field(default=0, ge=0, le=1)  # tool items: arguments not JSON

    @model_validator(mode="after")
    def _at_most_one(self) -> Flaws:
        if self.wrong + self.truncate + self.leak + self.mangle_tools > 1:
            raise ValueError("the flaw rates add up to more than 1")
        return self


@dataclass(frozen=True)
class Reply:
    content: str
    reasoning: str
    tool_call: tuple[str, str] | None  # (name, raw arguments)
    finish_reason: str  # "stop", "tool_calls" or "length"


@cache
def _items() -> dict[str, dict[str, Any]]:
    bank = yaml.safe_load(data_path("quality.yaml").read_text(encoding="utf-8"))
    return {item["messages"][-1]["content"]: item for item in bank["tasks"]}


def find(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The bank item whose question is the request's last user message, if any."""
    asked = [m.get("content") for m in messages if m.get("role") == "user"]
    return _items().get(asked[-1]) if asked and isinstance(asked[-1], str) else None


def reply(
    messages: list[dict[str, Any]], rng: random.Random, flaws: Flaws | None = None
) -> Reply | None:
    """The answer to a bank item (None when the request is not one)."""
    item = find(messages)
    if item is None:
        return None
    flaw = _draw(flaws or Flaws(), rng.random())
    expected = item["expected"]
    if item["family"] == "tool":
        arguments = expected["arguments"]
        if flaw == "wrong":
            arguments = _wrong(arguments)
        text = json.dumps(arguments)
        if flaw == "mangle_tools":
            text = text[:-1]  # no closing brace
        answer = Reply("", REASONING, (expected["name"], text), "tool_calls")
    else:
        value = _wrong(expected) if flaw == "wrong" else expected
        answer = Reply(_phrase(value, rng), REASONING, None, "stop")
    if flaw == "truncate":
        return _truncated(answer)
    if flaw == "leak":
        return _leaked(answer)
    return answer


def reply_to(body: dict[str, Any], rng: random.Random, flaws: Flaws) -> Reply | None:
    """`reply` for a request body, whatever shape its messages have (None: not a bank item)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    return reply([m for m in messages if isinstance(m, dict)], rng, flaws)


def deltas(answer: Reply, reasoning_field: str) -> list[dict[str, Any]]:
    """A bank reply streamed a few characters a chunk, as tokens arrive."""
    deltas: list[dict[str, Any]] = []
    if reasoning_field == "none":  # reasoning inline, marked as the LM Studio style does
        deltas.append({"content": f"<think>{answer.reasoning}</think>"})
    else:
        deltas.append({reasoning_field: answer.reasoning})
    deltas += [{"content": answer.content[i : i + 4]} for i in range(0, len(answer.content), 4)]
    if answer.tool_call:
        name, arguments = answer.tool_call
        call = {"index": 0, "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": ""}}  # fmt: skip
        deltas.append({"tool_calls": [call]})
        deltas += [
            {"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 6]}}]}
            for i in range(0, len(arguments), 6)
        ]
    return deltas


def _draw(flaws: Flaws, roll: float) -> str | None:
    """Which flaw (if any) this reply has, from one uniform roll in [0, 1)."""
    for name, rate in flaws.model_dump().items():
        if roll < rate:
            return str(name)
        roll -= rate
    return None


def _phrase(expected: Any, rng: random.Random) -> str:
    """The value the way models wrap it: plain, bold, in a sentence, or JSON in a fence."""
    if isinstance(expected, dict):
        text = json.dumps(expected)
        return rng.choice([text, f"```json\n{text}\n```", f"Here it is:\n{text}"])
    return rng.choice([str(expected), f"**{expected}**", f"The answer is {expected}."])


def _wrong(expected: Any) -> Any:
    """A plausible wrong value of the same shape."""
    if isinstance(expected, bool):
        return not expected
    if isinstance(expected, int):
        return expected + 1
    if isinstance(expected, str):
        return expected[::-1] if expected[::-1].casefold() != expected.casefold() else expected * 2
    first = next(iter(expected))
    value = expected[first]
    return {**expected, first: _wrong(value) if isinstance(value, str | int) else None}


def _truncated(answer: Reply) -> Reply:
    if answer.tool_call:
        name, arguments = answer.tool_call
        return Reply("", answer.reasoning, (name, arguments[: len(arguments) // 2]), "length")
    return Reply(answer.content[: len(answer.content) // 2], answer.reasoning, None, "length")


def _leaked(answer: Reply) -> Reply:
    """The raw harmony format, as when a server skips the reasoning parser."""
    final = f"<|start|>assistant<|channel|>final<|message|>{answer.content}"
    content = f"<|channel|>analysis<|message|>{answer.reasoning}<|end|>{final}"
    return Reply(content, "", answer.tool_call, answer.finish_reason)
