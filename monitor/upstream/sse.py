"""Server-sent events, per the WHATWG spec, within size caps.

Lines end in CRLF, LF or a lone CR; an event is its `data:` lines joined with newlines,
dispatched at a blank line (or when the stream ends); a UTF-8 BOM may open the stream; a line
that is not a field (a stray `{` or `<html>`) is handed back so the caller can judge it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

BOM = b"\xef\xbb\xbf"


class LineTooLong(Exception):
    """A line (or an event's data) grew past the cap before it ended."""


@dataclass
class Decoder:
    max_line: int
    pending: bytearray = field(default_factory=bytearray)  # an unfinished line
    data: list[bytes] = field(default_factory=list)  # the current event's data lines
    data_size: int = 0
    started: bool = False  # past the BOM check
    after_cr: bool = False  # the last line ended in CR: a LF opening the next chunk is its tail

    @property
    def midway(self) -> bool:
        """Part of a line or an event has arrived without its end."""
        return bool(self.pending or self.data)

    def feed(self, chunk: bytes) -> Iterator[bytes | str]:
        """Yield each complete event's data (str) and each non-field line (bytes)."""
        if self.after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self.after_cr = False
        self.pending += chunk
        if not self.started:
            if len(self.pending) < len(BOM) and BOM.startswith(bytes(self.pending)):
                return
            self.started = True
            if self.pending.startswith(BOM):
                del self.pending[: len(BOM)]
        start = 0
        buffer = self.pending
        while True:
            cut = _line_end(buffer, start)
            if cut < 0:
                break
            if cut - start > self.max_line:
                raise LineTooLong
            line = bytes(buffer[start:cut])
            if buffer[cut] == 0x0D:  # CR: CRLF is one ending, a lone CR another
                if cut + 1 == len(buffer):
                    self.after_cr = True
                    start = cut + 1
                elif buffer[cut + 1] == 0x0A:
                    start = cut + 2
                else:
                    start = cut + 1
            else:
                start = cut + 1
            yield from self._line(line)
        del buffer[:start]
        if len(buffer) > self.max_line:
            raise LineTooLong

    def end(self) -> Iterator[bytes | str]:
        """The stream closed: a last line without its ending, and a last event, still count."""
        if self.pending.strip():
            yield from self._line(bytes(self.pending).strip())
        self.pending.clear()
        if self.data:
            yield self._dispatch()

    def _line(self, line: bytes) -> Iterator[bytes | str]:
        if not line:
            if self.data:
                yield self._dispatch()
            return
        if line.lstrip().startswith((b"<", b"{")):
            yield line  # not SSE at all (an HTML page, a bare JSON error): the caller judges
            return
        name, _, value = line.partition(b":")
        if name == b"data":  # other fields (event, id, retry) and `:` comments say nothing here
            value = value[1:] if value.startswith(b" ") else value
            self.data_size += len(value) + 1
            if self.data_size > self.max_line:
                raise LineTooLong
            self.data.append(value)

    def _dispatch(self) -> str:
        text = b"\n".join(self.data).decode("utf-8", "replace")
        self.data.clear()
        self.data_size = 0
        return text


def _line_end(buffer: bytearray, start: int) -> int:
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    return cr if cr >= 0 else lf
