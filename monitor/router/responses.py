"""OpenAI's Responses API (Codex) over a chat-completions upstream.

`to_chat` turns a Responses request (`instructions`, `input` as a string or items, function
and custom tools) into a chat-completions payload; `Responses` turns the upstream's chunks into
Responses stream events, ending in `response.completed` with usage as Codex requires (or
`response.failed` when the stream breaks), or into one response object.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.router.translate import Refused, Segment, Translator, as_arguments, new_id, sse

NO_IMAGES = (
    "this router serves gpt-oss-120b, which reads text only: remove the image or file "
    "from the input and send it again"
)
EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
TEXT_PARTS = ("input_text", "output_text", "text", "summary_text")


def to_chat(body: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The chat payload (without `model`), and the names of custom (free-text) tools."""
    if body.get("previous_response_id"):
        raise Refused(
            "this router keeps no responses, so `previous_response_id` cannot be used: send "
            "the whole conversation in `input` (with `store: false`)"
        )
    chat: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        chat.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise Refused("`input` must be a string or a non-empty list of items")
    for item in items:
        _item(item, chat)
    payload: dict[str, Any] = {
        "messages": chat,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for ours, theirs in (
        ("max_output_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("parallel_tool_calls", "parallel_tool_calls"),
    ):
        if body.get(ours) is not None:
            payload[theirs] = body[ours]
    custom: set[str] = set()
    tools = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and (converted := _tool(tool, custom)):
            tools.append(converted)
    if tools:
        payload["tools"] = tools
        choice = body.get("tool_choice")
        if choice in ("auto", "none", "required"):
            payload["tool_choice"] = choice
        elif isinstance(choice, dict) and choice.get("name"):
            payload["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    effort = (body.get("reasoning") or {}).get("effort")
    if effort in EFFORTS:
        payload["reasoning_effort"] = EFFORTS[effort]
    schema = ((body.get("text") or {}).get("format")) or {}
    if schema.get("type") == "json_schema":
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": schema.get("name") or "output",
                "schema": schema.get("schema") or {},
                "strict": bool(schema.get("strict")),
            },
        }
    return payload, custom


def _item(item: Any, chat: list[dict[str, Any]]) -> None:
    if not isinstance(item, dict):
        raise Refused("each `input` item must be an object")
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        role = "system" if role == "developer" else role
        if role not in ("user", "assistant", "system"):
            raise Refused("a message item's `role` must be user, assistant, system or developer")
        chat.append({"role": role, "content": _text(item.get("content"))})
    elif kind in ("function_call", "custom_tool_call"):
        arguments = item.get("arguments")
        if kind == "custom_tool_call":
            arguments = json.dumps({"input": item.get("input", "")}, ensure_ascii=False)
        call = {
            "id": str(item.get("call_id", "")),
            "type": "function",
            "function": {
                "name": str(item.get("name", "")),
                "arguments": arguments if isinstance(arguments, str) else "{}",
            },
        }
        last = chat[-1] if chat else None
        if last is not None and last["role"] == "assistant":  # one turn: text and its calls
            last.setdefault("tool_calls", []).append(call)
        else:
            chat.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind in ("function_call_output", "custom_tool_call_output"):
        chat.append(
            {
                "role": "tool",
                "tool_call_id": str(item.get("call_id", "")),
                "content": _text(item.get("output")),
            }
        )
    elif kind in ("input_image", "input_file"):
        raise Refused(NO_IMAGES)
    # Reasoning and hosted-tool items (web search, ...) have no chat-completions form.


def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise Refused("content must be a string or a list of content parts")
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_image", "input_file", "image_url"):
            raise Refused(NO_IMAGES)
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n\n".join(texts)


def _tool(tool: dict[str, Any], custom: set[str]) -> dict[str, Any] | None:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        return None
    function: dict[str, Any] = {"name": name}
    if tool.get("description"):
        function["description"] = str(tool["description"])
    if tool.get("type") == "function":
        function["parameters"] = tool.get("parameters") or {"type": "object"}
    elif tool.get("type") == "custom":  # free text (Codex's apply_patch): one string argument
        custom.add(name)
        function["parameters"] = {
            "type": "object",
            "required": ["input"],
            "properties": {"input": {"type": "string"}},
        }
    else:
        return None  # hosted tools (web search, local shell, ...) need OpenAI's servers
    return {"type": "function", "function": function}


class Responses(Translator):
    """Chat chunks to Responses stream events; `whole()` for a non-streamed answer."""

    def __init__(self, model: str, input_tokens: int, custom: set[str] | None = None):
        super().__init__(model, input_tokens)
        self.id = new_id("resp_")
        self.custom = custom or set()
        self.sequence = 0

    def _event(self, kind: str, **data: Any) -> bytes:
        self.sequence += 1
        return sse(kind, {"type": kind, "sequence_number": self.sequence, **data})

    def _response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "model": self.model,
            "output": output,
            "error": None,
            "incomplete_details": None,
        }
        if status != "in_progress":
            output_tokens = self.output_tokens or 0
            response["usage"] = {
                "input_tokens": self.input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": self.input_tokens + output_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            }
        if status == "incomplete":
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        return response

    def _item(self, segment: Segment, done: bool) -> dict[str, Any]:
        status = "completed" if done else "in_progress"
        text = segment.text if done else ""
        if segment.kind == "reasoning":
            reasoning = [{"type": "reasoning_text", "text": text}] if done else []
            return {
                "type": "reasoning",
                "id": f"rs_{segment.id}",
                "summary": [],
                "content": reasoning,
            }
        if segment.kind == "text":
            content = [{"type": "output_text", "text": text, "annotations": []}] if done else []
            return {
                "type": "message",
                "id": f"msg_{segment.id}",
                "status": status,
                "role": "assistant",
                "content": content,
            }
        if segment.name in self.custom:
            value = as_arguments(text).get("input", text) if done else ""
            return {
                "type": "custom_tool_call",
                "id": f"ctc_{segment.id}",
                "status": status,
                "call_id": segment.call_id,
                "name": segment.name,
                "input": value if isinstance(value, str) else json.dumps(value),
            }
        return {
            "type": "function_call",
            "id": f"fc_{segment.id}",
            "status": status,
            "call_id": segment.call_id,
            "name": segment.name,
            "arguments": text,
        }

    def start(self) -> bytes:
        response = self._response("in_progress", [])
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    def opened(self, segment: Segment) -> bytes:
        out = self._event(
            "response.output_item.added",
            output_index=segment.index,
            item=self._item(segment, done=False),
        )
        if segment.kind == "text":
            part = {"type": "output_text", "text": "", "annotations": []}
            out += self._event(
                "response.content_part.added",
                item_id=f"msg_{segment.id}",
                output_index=segment.index,
                content_index=0,
                part=part,
            )
        return out

    def delta(self, segment: Segment, piece: str) -> bytes:
        where = {"output_index": segment.index}
        if segment.kind == "reasoning":
            return self._event(
                "response.reasoning_text.delta",
                item_id=f"rs_{segment.id}",
                content_index=0,
                delta=piece,
                **where,
            )
        if segment.kind == "text":
            return self._event(
                "response.output_text.delta",
                item_id=f"msg_{segment.id}",
                content_index=0,
                delta=piece,
                logprobs=[],
                **where,
            )
        if segment.name in self.custom:
            return b""  # the free text is inside JSON arguments: given whole when done
        return self._event(
            "response.function_call_arguments.delta",
            item_id=f"fc_{segment.id}",
            delta=piece,
            **where,
        )

    def close(self, segment: Segment) -> bytes:
        where = {"output_index": segment.index}
        out = b""
        if segment.kind == "reasoning":
            out = self._event(
                "response.reasoning_text.done",
                item_id=f"rs_{segment.id}",
                content_index=0,
                text=segment.text,
                **where,
            )
        elif segment.kind == "text":
            part = {"type": "output_text", "text": segment.text, "annotations": []}
            out = self._event(
                "response.output_text.done",
                item_id=f"msg_{segment.id}",
                content_index=0,
                text=segment.text,
                **where,
            )
            out += self._event(
                "response.content_part.done",
                item_id=f"msg_{segment.id}",
                content_index=0,
                part=part,
                **where,
            )
        elif segment.name not in self.custom:
            out = self._event(
                "response.function_call_arguments.done",
                item_id=f"fc_{segment.id}",
                arguments=segment.text,
                **where,
            )
        return out + self._event(
            "response.output_item.done", item=self._item(segment, done=True), **where
        )

    def _status(self) -> str:
        return "incomplete" if self.finish_reason == "length" else "completed"

    def end(self) -> bytes:
        status = self._status()
        response = self._response(status, [self._item(s, done=True) for s in self.segments])
        return self._event(f"response.{status}", response=response)

    def failed(self, message: str) -> bytes:
        error = {"code": "server_error", "message": message}
        response = {**self._response("failed", []), "error": error}
        return self._event("error", code="server_error", message=message, param=None) + (
            self._event("response.failed", response=response)
        )

    def whole(self) -> dict[str, Any]:
        return self._response(self._status(), [self._item(s, done=True) for s in self.segments])
