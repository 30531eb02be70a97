"""Chat-completion chunks in, another API's stream out: what the Anthropic and Responses
translators share.

The upstream always speaks chat completions. A translator turns its chunks (dicts, already
parsed and size-checked by the Exchange) into segments — reasoning, text, one per tool call —
and its subclass says how a segment opens, grows and closes in its own API. The same state
gives the whole answer for a client that did not ask for a stream.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["reasoning", "text", "tool"]


class Refused(Exception):
    """A request this router cannot translate; the message says what to change."""


@dataclass
class Segment:
    kind: Kind
    index: int  # position in the answer (content block / output item)
    id: str
    text: str = ""  # the reasoning, the text, or a tool call's arguments so far
    call_id: str = ""
    name: str = ""


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def as_arguments(raw: str) -> Any:
    """A tool call's arguments as an object; unparseable ones are kept, never dropped."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"arguments": value}


def estimate_tokens(*parts: Any) -> int:
    """A rough count (about 4 characters a token); gpt-oss's tokenizer is not run here."""
    chars = sum(len(p) if isinstance(p, str) else len(json.dumps(p)) for p in parts if p)
    return max(1, chars // 4)


class Translator:
    """Feed chat chunks; get this API's stream bytes; `finish` or `fail` at the end."""

    raw = False  # the relay hands on our bytes, not the provider's
    media = "text/event-stream"

    def __init__(self, model: str, input_tokens: int):
        self.model = model  # the name the client asked for, echoed back
        self.created = int(time.time())
        self.segments: list[Segment] = []
        self.open: Segment | None = None
        self.tools: dict[int, Segment] = {}
        self.finish_reason: str | None = None
        self.input_tokens = input_tokens  # an estimate until the provider reports usage
        self.output_tokens: int | None = None
        self.started = False
        self.error: str | None = None

    # -- fed by the relay

    def feed(self, chunk: dict[str, Any]) -> bytes:
        out = [] if self.started else [self.start()]
        self.started = True
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("prompt_tokens"), int):
                self.input_tokens = usage["prompt_tokens"]
            if isinstance(usage.get("completion_tokens"), int):
                self.output_tokens = usage["completion_tokens"]
        choices = chunk.get("choices") or []
        choice = choices[0] if choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str) and delta[key]:
                    out += self._grow("reasoning", delta[key])
                    break
            if isinstance(delta.get("content"), str) and delta["content"]:
                out += self._grow("text", delta["content"])
            calls = delta.get("tool_calls")
            for position, call in enumerate(calls if isinstance(calls, list) else []):
                if isinstance(call, dict):
                    out += self._tool(position, call)
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        return b"".join(out)

    def finish(self) -> bytes:
        """The stream ended well: close what is open and end the answer."""
        out = [] if self.started else [self.start()]
        self.started = True
        if self.open is not None:
            out.append(self.close(self.open))
            self.open = None
        return b"".join([*out, self.end()])

    def fail(self, message: str) -> bytes:
        """The stream broke after the answer began: this API's own error event."""
        self.error = message
        out = [] if self.started else [self.start()]
        self.started = True
        return b"".join([*out, self.failed(message)])

    # -- the segments

    def _grow(self, kind: Kind, piece: str) -> list[bytes]:
        out: list[bytes] = []
        segment = self.open
        if segment is None or segment.kind != kind:
            segment = self._begin(kind, out)
        segment.text += piece
        out.append(self.delta(segment, piece))
        return out

    def _tool(self, position: int, call: dict[str, Any]) -> list[bytes]:
        index = call.get("index", position)
        index = index if isinstance(index, int) else position
        function = call.get("function") or {}
        name, piece, call_id = function.get("name"), function.get("arguments"), call.get("id")
        out: list[bytes] = []
        segment = self.tools.get(index)
        if segment is None:
            call_id = call_id if isinstance(call_id, str) and call_id else new_id("call_")
            name = name if isinstance(name, str) else ""
            segment = self._begin("tool", out, call_id=call_id, name=name)
            self.tools[index] = segment
        piece = piece if isinstance(piece, str) else ""
        segment.text += piece
        if piece and segment is self.open:  # a call interleaved with another is only stored
            out.append(self.delta(segment, piece))
        return out

    def _begin(self, kind: Kind, out: list[bytes], call_id: str = "", name: str = "") -> Segment:
        if self.open is not None:
            out.append(self.close(self.open))
        segment = Segment(kind, len(self.segments), new_id(""), call_id=call_id, name=name)
        self.segments.append(segment)
        self.open = segment
        out.append(self.opened(segment))
        return segment

    # -- what each API says (subclasses)

    def start(self) -> bytes:
        raise NotImplementedError

    def opened(self, segment: Segment) -> bytes:
        raise NotImplementedError

    def delta(self, segment: Segment, piece: str) -> bytes:
        raise NotImplementedError

    def close(self, segment: Segment) -> bytes:
        raise NotImplementedError

    def end(self) -> bytes:
        raise NotImplementedError

    def failed(self, message: str) -> bytes:
        raise NotImplementedError

    def whole(self) -> dict[str, Any]:
        """The answer as one JSON object, for a client that did not ask for a stream."""
        raise NotImplementedError
