"""A whole (non-streamed) chat completion, rebuilt from the provider's stream.

The router asks the provider to stream even when the tool did not, so a provider that never
starts answering is left at the first-token deadline (most servers send a whole answer's
headers only once it is complete, so without a stream there is no first sign of life to wait
for). The chunks are gathered into the one `chat.completion` object the tool asked for.
"""

from __future__ import annotations

from typing import Any

from monitor.router.translate import Segment, Translator, estimate_tokens, new_id


def rebuildable(body: dict[str, Any]) -> bool:
    """A whole answer we can rebuild from one stream: one choice, no per-token log
    probabilities (those pass through as the provider sends them, under the overall deadline)."""
    n = body.get("n")
    return body.get("stream") is not True and n in (None, 1) and not body.get("logprobs")


def streamed(body: dict[str, Any]) -> dict[str, Any]:
    """The request as a stream that reports usage at its end."""
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


class WholeChat(Translator):
    """Gathers chat chunks; `whole()` is the completion. Nothing is streamed to the tool."""

    def start(self) -> bytes:
        return b""

    def opened(self, segment: Segment) -> bytes:
        return b""

    def delta(self, segment: Segment, piece: str) -> bytes:
        return b""

    def close(self, segment: Segment) -> bytes:
        return b""

    def end(self) -> bytes:
        return b""

    def failed(self, message: str) -> bytes:
        return b""

    def whole(self) -> dict[str, Any]:
        def joined(kind: str) -> str:
            return "".join(s.text for s in self.segments if s.kind == kind)

        message: dict[str, Any] = {"role": "assistant", "content": joined("text") or None}
        if reasoning := joined("reasoning"):
            message["reasoning_content"] = reasoning
        calls = [
            {
                "id": s.call_id,
                "type": "function",
                "function": {"name": s.name, "arguments": s.text or "{}"},
            }
            for s in self.segments
            if s.kind == "tool"
        ]
        if calls:
            message["tool_calls"] = calls
        output = self.output_tokens
        if output is None:
            output = estimate_tokens(*(s.text for s in self.segments))
        return {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": self.finish_reason or ("tool_calls" if calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": self.input_tokens,
                "completion_tokens": output,
                "total_tokens": self.input_tokens + output,
            },
        }
