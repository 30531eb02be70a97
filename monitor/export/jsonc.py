"""Edit JSON / JSONC text in place: locate a member by a tolerant parser, then splice text.

Regenerating a user's file would drop their comments, trailing commas and layout, so we never
do it: every byte outside the value we set stays as it was. `strict=True` parses plain JSON
(no comments, no trailing commas) for tools that read strict JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 200
STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
LITERALS = {"true": True, "false": False, "null": None}


class JsoncError(Exception):
    def __init__(self, line: int, why: str):
        super().__init__(why)
        self.line = line
        self.why = why


@dataclass
class Node:
    start: int
    end: int  # exclusive
    value: Any
    members: list[Member] = field(default_factory=list)  # objects only, in file order

    def get(self, key: str) -> Member | None:
        """The member named `key`; the last one wins, as in JavaScript."""
        found = [m for m in self.members if m.key == key]
        return found[-1] if found else None


@dataclass
class Member:
    key: str
    start: int  # where the key's opening quote is
    node: Node
    comma: int | None = None  # position of the comma after the value, if any


def parse(text: str, strict: bool = False) -> Node | None:
    """The document's root object, or None when the text holds nothing but blanks/comments."""
    parser = _Parser(text, strict)
    parser.skip()
    if parser.pos == len(text):
        return None
    if text[parser.pos] != "{":
        raise parser.error("the top level must be a JSON object `{ … }`")
    root = parser.value(0)
    parser.skip()
    if parser.pos != len(text):
        raise parser.error(f"unexpected {_show(text[parser.pos])} after the top-level object")
    return root


def set_value(
    text: str,
    path: Sequence[str],
    value: Any,
    *,
    strict: bool = False,
    first: bool = False,
    keep_existing: bool = False,
) -> str:
    """Set `path` to `value`, creating missing objects; text is unchanged when it already holds
    an equal value (or any value, with keep_existing). `first` inserts a new member at the top."""
    node = parse(text, strict)
    if node is None:
        raise JsoncError(1, "the file holds no JSON object")
    for depth, key in enumerate(path):
        member = node.get(key)
        if member is None:
            nested = value
            for inner in reversed(path[depth + 1 :]):
                nested = {inner: nested}
            return _insert(text, node, key, nested, first)
        if depth == len(path) - 1:
            if keep_existing or member.node.value == value:
                return text
            indent = _line_indent(text, member.start)
            dumped = _dump(value, _unit(text), indent)
            return text[: member.node.start] + dumped + text[member.node.end :]
        if not isinstance(member.node.value, dict):
            line = text.count("\n", 0, member.start) + 1
            raise JsoncError(line, f"`{'.'.join(path[: depth + 1])}` must be an object")
        node = member.node
    return text


# ---------------------------------------------------------------- splicing


def _insert(text: str, obj: Node, key: str, value: Any, first: bool) -> str:
    if obj.members and "\n" not in text[obj.start : obj.end]:  # an inline `{"a": 1}`
        member = f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
        if first:
            at = obj.members[0].start
            return text[:at] + member + ", " + text[at:]
        return _append(text, obj, " " + member)
    outer = _line_indent(text, obj.start)
    inner = _line_indent(text, obj.members[0].start) if obj.members else outer + _unit(text)
    member = f"{json.dumps(key)}: {_dump(value, _unit(text), inner)}"
    if not obj.members:
        close = obj.end - 1
        at = _back_over_blanks(text, close)
        tail = "" if "\n" in text[at:close] else "\n" + outer
        return text[:at] + "\n" + inner + member + tail + text[at:]
    if first:
        at = _end_of_line(text, obj.start + 1)
        return text[:at] + "\n" + inner + member + "," + text[at:]
    return _append(text, obj, "\n" + inner + member)


def _append(text: str, obj: Node, addition: str) -> str:
    """Add a member after the last one, keeping its trailing comma style and same-line comment."""
    last = obj.members[-1]
    if last.comma is not None:
        at = _end_of_line(text, last.comma + 1)
        return text[:at] + addition + "," + text[at:]
    value_end = last.node.end
    at = _end_of_line(text, value_end)
    return text[:value_end] + "," + text[value_end:at] + addition + text[at:]


def _end_of_line(text: str, pos: int) -> int:
    """Past blanks and a comment on the same line, stopping before the newline or a `}`."""
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if text.startswith("//", pos):
            newline = text.find("\n", pos)
            return len(text) if newline < 0 else newline
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)  # `/*/` opens a comment, it does not close one
            if end < 0 or "\n" in text[pos:end]:
                return pos
            pos = end + 2
            continue
        return pos


def _back_over_blanks(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1] in " \t\r\n":
        pos -= 1
    return pos


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    line = text[start:pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _unit(text: str) -> str:
    """The file's indentation step (the first indented line's), else two spaces."""
    match = re.search(r"\n([ \t]+)\S", text)
    return match.group(1) if match else "  "


def _dump(value: Any, unit: str, indent: str) -> str:
    dumped = json.dumps(value, indent=unit, ensure_ascii=False)
    return dumped.replace("\n", "\n" + indent)


def _show(char: str) -> str:
    return repr(char) if char.strip() else "whitespace"


# ---------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str, strict: bool):
        self.text = text
        self.strict = strict
        self.pos = 0

    def error(self, why: str, pos: int | None = None) -> JsoncError:
        at = self.pos if pos is None else pos
        return JsoncError(self.text.count("\n", 0, at) + 1, why)

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos) or text.startswith("/*", self.pos):
                if self.strict:
                    raise self.error("comments are not allowed in this JSON file")
                if text[self.pos + 1] == "/":
                    newline = text.find("\n", self.pos)
                    self.pos = len(text) if newline < 0 else newline
                else:
                    end = text.find("*/", self.pos + 2)
                    if end < 0:
                        raise self.error("a /* comment is never closed")
                    self.pos = end + 2
            else:
                return

    def value(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error("the JSON is nested too deeply")
        self.skip()
        if self.pos >= len(self.text):
            raise self.error("the file ends where a value was expected")
        char = self.text[self.pos]
        if char == "{":
            return self.obj(depth)
        if char == "[":
            return self.array(depth)
        start = self.pos
        if char == '"':
            return Node(start, self.string_end(), json.loads(self.text[start : self.pos]))
        for word, literal in LITERALS.items():
            if self.text.startswith(word, start):
                self.pos += len(word)
                return Node(start, self.pos, literal)
        number = NUMBER.match(self.text, start)
        if number:
            self.pos = number.end()
            return Node(start, self.pos, json.loads(number.group()))
        raise self.error(f"unexpected {_show(char)} where a value was expected")

    def string_end(self) -> int:
        match = STRING.match(self.text, self.pos)
        if not match:
            raise self.error("a string is not closed or has a bad escape")
        self.pos = match.end()
        return self.pos

    def obj(self, depth: int) -> Node:
        node = Node(self.pos, self.pos, {})
        self.pos += 1
        while True:
            self.skip()
            if self.at("}"):
                if node.members and node.members[-1].comma is not None and self.strict:
                    raise self.error("a trailing comma is not allowed in this JSON file")
                break
            if node.members and node.members[-1].comma is None:
                raise self.error(f"expected ',' or '}}' but found {self.found()}")
            if not self.at('"'):
                raise self.error(f"expected a quoted key but found {self.found()}")
            key_start = self.pos
            key = json.loads(self.text[key_start : self.string_end()])
            self.skip()
            if not self.at(":"):
                raise self.error(f"expected ':' after the key {key!r}")
            self.pos += 1
            member = Member(key, key_start, self.value(depth + 1))
            node.members.append(member)
            node.value[key] = member.node.value
            self.skip()
            if self.at(","):
                member.comma = self.pos
                self.pos += 1
        self.pos += 1
        node.end = self.pos
        return node

    def array(self, depth: int) -> Node:
        node = Node(self.pos, self.pos, [])
        self.pos += 1
        expecting = True  # a value may come (start, or after a comma)
        while True:
            self.skip()
            if self.at("]"):
                if node.value and expecting and self.strict:
                    raise self.error("a trailing comma is not allowed in this JSON file")
                break
            if not expecting:
                raise self.error(f"expected ',' or ']' but found {self.found()}")
            node.value.append(self.value(depth + 1).value)
            self.skip()
            expecting = self.at(",")
            if expecting:
                self.pos += 1
        self.pos += 1
        node.end = self.pos
        return node

    def at(self, char: str) -> bool:
        if self.pos >= len(self.text):
            raise self.error("the file ends before the JSON is complete")
        return self.text[self.pos] == char

    def found(self) -> str:
        return _show(self.text[self.pos])
