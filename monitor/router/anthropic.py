"""Anthropic's Messages API (Claude Code) over a chat-completions upstream.

`to_chat` turns a Messages request into a chat-completions payload; `Messages` turns the
upstream's chunks into Anthropic's stream events (or, whole, into one message); `error` is
Anthropic's error shape. Whatever model name the client sends, the catalogue's model answers.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from monitor.router.translate import (
    Refused,
    Segment,
    Translator,
    as_arguments,
    estimate_tokens,
    new_id,
    sse,
)

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
NO_IMAGES = (
    "this router serves gpt-oss-120b, which reads text only: remove the image or document "
    "from the conversation and send it again"
)
# Extended-thinking budgets (tokens) to gpt-oss's reasoning efforts.
EFFORTS = ((4096, "low"), (16384, "medium"))


def error(status: int, message: str, code: str = "") -> JSONResponse:
    kind = ERROR_TYPES.get(status, "api_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions payload (without `model`) for a Messages request."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused("`messages` must be a non-empty list, as in Anthropic's Messages API")
    chat: list[dict[str, Any]] = []
    system = _text_of(body.get("system"), "system")
    if system:
        chat.append({"role": "system", "content": system})
    for message in messages:
        chat += _message(message)
    payload: dict[str, Any] = {
        "messages": chat,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for ours, theirs in (
        ("max_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("stop_sequences", "stop"),
    ):
        if body.get(ours) is not None:
            payload[theirs] = body[ours]
    tools = [_tool(t) for t in body.get("tools") or [] if isinstance(t, dict)]
    if tools := [t for t in tools if t]:
        payload["tools"] = tools
        payload.update(_tool_choice(body.get("tool_choice")))
    thinking = body.get("thinking")
    effort = (body.get("output_config") or {}).get("effort")
    if effort in ("low", "medium", "high"):
        payload["reasoning_effort"] = effort
    elif isinstance(effort, str):
        payload["reasoning_effort"] = "high"  # "max" and whatever comes next
    elif isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) else 1 << 30
        payload["reasoning_effort"] = next((e for b, e in EFFORTS if budget < b), "high")
    return payload


def _message(message: Any) -> list[dict[str, Any]]:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
        raise Refused("each message needs `role` user, assistant or system, and `content`")
    content = message.get("content")
    if message["role"] == "system":  # Claude Code sends late system notes as messages
        return [{"role": "system", "content": _text_of(content, "system")}]
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    if not isinstance(content, list):
        raise Refused("a message's `content` must be a string or a list of content blocks")
    if message["role"] == "assistant":
        return [_assistant(content)]
    results: list[dict[str, Any]] = []  # tool results answer the previous turn: they go first
    texts: list[str] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            text = _text_of(block.get("content"), "tool_result")
            if block.get("is_error"):
                text = f"(the tool reported an error) {text}"
            results.append(
                {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}
            )
        elif kind in ("image", "document"):
            raise Refused(NO_IMAGES)
        elif kind == "text":
            texts.append(str(block.get("text", "")))
    if texts:
        results.append({"role": "user", "content": "\n\n".join(texts)})
    return results


def _assistant(content: list[Any]) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {"name": str(block.get("name", "")), "arguments": arguments},
                }
            )
        # Earlier thinking blocks are not sent back: gpt-oss drops past reasoning anyway.
    message: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _text_of(value: Any, where: str) -> str:
    """A string, or the text of a list of blocks (system prompt, tool result)."""
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise Refused(f"`{where}` must be a string or a list of text blocks")
    texts = []
    for block in value:
        if isinstance(block, dict) and block.get("type") in ("image", "document"):
            raise Refused(NO_IMAGES)
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "\n\n".join(texts)


def _tool(tool: dict[str, Any]) -> dict[str, Any] | None:
    if tool.get("type") not in (None, "custom"):
        return None  # Anthropic's server tools (web search, ...) have no chat equivalent
    function = {
        "name": str(tool.get("name", "")),
        "parameters": tool.get("input_schema") or {"type": "object"},
    }
    if tool.get("description"):
        function["description"] = str(tool["description"])
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> dict[str, Any]:
    if not isinstance(choice, dict):
        return {}
    out: dict[str, Any] = {}
    kind = choice.get("type")
    if kind in ("auto", "none"):
        out["tool_choice"] = kind
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out


def count_tokens(body: dict[str, Any]) -> dict[str, Any]:
    """An estimate for `/v1/messages/count_tokens`: the request's text at ~4 characters a token."""
    payload = to_chat(body)
    tokens = estimate_tokens(payload["messages"], payload.get("tools"))
    note = "an estimate (about 4 characters a token); gpt-oss's tokenizer is not run"
    return {"input_tokens": tokens, "oss_monitor_note": note}


class Messages(Translator):
    """Chat chunks to Anthropic's stream events; `whole()` for a non-streamed answer."""

    def __init__(self, model: str, input_tokens: int):
        super().__init__(model, input_tokens)
        self.id = new_id("msg_")

    def _message(self, content: list[dict[str, Any]], stop: str | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens or 0},
        }

    def _stop(self) -> str:
        if self.tools and self.finish_reason in (None, "stop"):
            return "tool_use"  # some providers say "stop" after a tool call
        return STOP_REASONS.get(self.finish_reason or "stop", "end_turn")

    def start(self) -> bytes:
        start = sse("message_start", {"type": "message_start", "message": self._message([], None)})
        return start + sse("ping", {"type": "ping"})

    def opened(self, segment: Segment) -> bytes:
        blocks: dict[str, dict[str, Any]] = {
            "reasoning": {"type": "thinking", "thinking": "", "signature": ""},
            "text": {"type": "text", "text": ""},
            "tool": {"type": "tool_use", "id": segment.call_id, "name": segment.name, "input": {}},
        }
        block = blocks[segment.kind]
        return sse(
            "content_block_start",
            {"type": "content_block_start", "index": segment.index, "content_block": block},
        )

    def delta(self, segment: Segment, piece: str) -> bytes:
        delta = {
            "reasoning": {"type": "thinking_delta", "thinking": piece},
            "text": {"type": "text_delta", "text": piece},
            "tool": {"type": "input_json_delta", "partial_json": piece},
        }[segment.kind]
        return sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": segment.index, "delta": delta},
        )

    def close(self, segment: Segment) -> bytes:
        return sse("content_block_stop", {"type": "content_block_stop", "index": segment.index})

    def end(self) -> bytes:
        usage = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens or 0}
        delta = {
            "type": "message_delta",
            "usage": usage,
            "delta": {"stop_reason": self._stop(), "stop_sequence": None},
        }
        return sse("message_delta", delta) + sse("message_stop", {"type": "message_stop"})

    def failed(self, message: str) -> bytes:
        return sse("error", {"type": "error", "error": {"type": "api_error", "message": message}})

    def whole(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for s in self.segments:
            if s.kind == "reasoning":
                content.append({"type": "thinking", "thinking": s.text, "signature": ""})
            elif s.kind == "text":
                content.append({"type": "text", "text": s.text})
            else:
                content.append(
                    {
                        "type": "tool_use",
                        "id": s.call_id,
                        "name": s.name,
                        "input": as_arguments(s.text),
                    }
                )
        return self._message(content, self._stop())
