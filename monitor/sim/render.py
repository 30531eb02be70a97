"""How a simulated endpoint sends an `Answer`: chat-completions chunks or Responses API events,
paced at the profile's decode speed, with the profile's hostile modes applied on the way."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from monitor.sim.answers import Answer

if TYPE_CHECKING:
    from monitor.sim.fleet import SimEndpoint


def pieces(text: str) -> list[str]:
    """One streamed token per word (with its trailing space)."""
    return re.findall(r"\S+\s*|\s+", text)


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data).encode() + b"\n\n"


@dataclass
class Reply:
    sim: SimEndpoint
    answer: Answer
    arrived: float
    ttft: float
    mode: str
    include_usage: bool

    def tool_arguments(self) -> str:
        call = self.answer.tool_call
        if call is None:
            return ""
        # A provider with broken tool calls cuts the arguments short (invalid JSON).
        return (
            call.arguments[: max(1, len(call.arguments) // 2)]
            if self.sim.broken_tools
            else call.arguments
        )

    def finish_reason(self) -> str:
        return "stop" if self.sim.broken_tools else self.answer.finish_reason

    def tokens(self) -> int:
        return len(pieces(self.answer.reasoning)) + max(1, len(pieces(self.answer.content)))

    async def paced(
        self, head: list[bytes], body: list[bytes], tail: list[bytes]
    ) -> AsyncIterator[bytes]:
        """`head` at once, `body` one token at a time after the TTFT, then `tail`."""
        for event in head:
            yield event
        if self.mode == "headers_only":
            await anyio.sleep_forever()
        if self.mode == "broken_json":
            yield b'data: {"choices": [{"delta": {"content": "hel\n\n'
            return
        if self.mode == "huge_chunk":
            # One 6 MiB line, written in pieces so the fleet itself never holds it whole.
            yield b"data: "
            for _ in range(96):
                yield b"x" * (64 << 10)
            yield b"\n\n"
            return
        first = self.arrived + self.ttft
        endless = self.mode == "endless"
        i = 0
        while i < len(body) or endless:
            await anyio.sleep(max(0.0, first + i / self.sim.tokens_per_s - anyio.current_time()))
            yield body[i % len(body)] if body else b'data: {"choices": []}\n\n'
            i += 1
            if self.mode == "cut" and i >= len(body) // 2:
                raise ConnectionResetError("simulated mid-stream drop")
        for event in tail:
            yield event


class ChatReply(Reply):
    """/chat/completions: reasoning deltas in the profile's field, then content or a tool call."""

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": "chatcmpl-sim",
            "object": "chat.completion.chunk",
            "model": self.sim.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return _sse(data)

    def deltas(self) -> list[dict[str, Any]]:
        field = self.sim.reasoning_field
        # "none": reasoning inlined in content (LM Studio style)
        deltas: list[dict[str, Any]] = [
            {"content" if field == "none" else field: p} for p in pieces(self.answer.reasoning)
        ]
        deltas += [{"content": p} for p in pieces(self.answer.content)]  # text before a call
        call = self.answer.tool_call
        if call is not None:
            args = self.tool_arguments()
            first = {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            deltas.append({"tool_calls": [first]})
            deltas += [
                {"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 6]}}]}
                for i in range(0, len(args), 6)
            ]
        return deltas

    def stream(self) -> AsyncIterator[bytes]:
        deltas = self.deltas()
        tail = [self._chunk({}, self.finish_reason())]
        if self.sim.usage and self.include_usage:
            n = len(deltas)
            usage = {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n}
            tail.append(_sse({"choices": [], "usage": usage}))
        tail.append(b"data: [DONE]\n\n")
        head = [self._chunk({"role": "assistant", "content": ""})]
        return self.paced(head, [self._chunk(d) for d in deltas], tail)

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.answer.content or None}
        call = self.answer.tool_call
        if call is not None:
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": call.name, "arguments": self.tool_arguments()},
                }
            ]
        if self.sim.reasoning_field != "none" and self.answer.reasoning:
            message[self.sim.reasoning_field] = self.answer.reasoning
        return {
            "id": "chatcmpl-sim",
            "object": "chat.completion",
            "model": self.sim.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason()}],
            "usage": {"prompt_tokens": 20, "completion_tokens": self.tokens()},
        }


class ResponsesReply(Reply):
    """/responses (the Responses API, which Codex speaks): a reasoning item, then a message
    or a function call, each announced, streamed and closed, then `response.completed`."""

    def _event(self, kind: str, **data: Any) -> bytes:
        return _sse({"type": kind, **data}, kind)

    def _items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.answer.reasoning:
            items.append(
                {
                    "type": "reasoning",
                    "id": "rs_sim",
                    "summary": [],
                    "content": [{"type": "reasoning_text", "text": self.answer.reasoning}],
                }
            )
        call = self.answer.tool_call
        if call is not None:
            items.append(
                {
                    "type": "function_call",
                    "id": "fc_sim",
                    "call_id": "call_1",
                    "name": call.name,
                    "arguments": self.tool_arguments(),
                    "status": "completed",
                }
            )
        else:
            text = {"type": "output_text", "text": self.answer.content, "annotations": []}
            items.append(
                {
                    "type": "message",
                    "id": "msg_sim",
                    "role": "assistant",
                    "status": "completed",
                    "content": [text],
                }
            )
        return items

    def _response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = {
            "id": "resp_sim",
            "object": "response",
            "status": status,
            "model": self.sim.model,
            "output": output,
        }
        if status == "completed" and self.sim.usage:
            n = self.tokens()
            response["usage"] = {
                "input_tokens": 20,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": n,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 20 + n,
            }
        return response

    def stream(self) -> AsyncIterator[bytes]:
        items = self._items()
        head = [self._event("response.created", response=self._response("in_progress", []))]
        body: list[bytes] = []
        for index, item in enumerate(items):
            started = {**item, "status": "in_progress"}
            if item["type"] == "message":
                started["content"] = []
            body.append(self._event("response.output_item.added", output_index=index, item=started))
            for piece in self._deltas(item):
                body.append(
                    self._event(piece[0], output_index=index, item_id=item["id"], **piece[1])
                )
            body.append(self._event("response.output_item.done", output_index=index, item=item))
        tail = [self._event("response.completed", response=self._response("completed", items))]
        return self.paced(head, body, tail)

    def _deltas(self, item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if item["type"] == "reasoning":
            return [
                ("response.reasoning_text.delta", {"content_index": 0, "delta": p})
                for p in pieces(self.answer.reasoning)
            ]
        if item["type"] == "function_call":
            return [("response.function_call_arguments.delta", {"delta": item["arguments"]})]
        return [
            ("response.output_text.delta", {"content_index": 0, "delta": p})
            for p in pieces(self.answer.content)
        ]

    def whole(self) -> dict[str, Any]:
        return self._response("completed", self._items())
