"""A YAML document's shape, checked from its event stream before anything builds it.

Composing or validating a deeply nested document recurses once per level (20,000 levels
overflow the stack), and a few aliases can stand for billions of values (a 356-byte "alias
bomb"). The event stream is read without recursion or expansion, so both are refused in
time linear in the file's size.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 32  # levels of nesting; a catalogue needs four
MAX_VALUES = 100_000  # values once every alias is expanded
# libyaml's parser when PyYAML has it: the same events, a hundred times faster.
PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ShapeError(ValueError):
    def __init__(self, line: int, why: str):
        super().__init__(why)
        self.line = line
        self.why = why


def check_shape(text: str) -> None:
    """Raise ShapeError (with the 1-based line) for a document too deep or too big expanded."""
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_: list[tuple[int, str | None]] = []  # (values so far, anchor) per open collection
    counts: list[int] = [0]
    for event in yaml.parse(text, Loader=PARSER):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) >= MAX_DEPTH:
                raise ShapeError(line, f"is nested more than {MAX_DEPTH} levels deep")
            open_.append((len(counts), event.anchor))
            counts.append(1)
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            _, anchor = open_.pop()
            size = counts.pop()
        elif isinstance(event, yaml.AliasEvent):
            size, anchor = sizes.get(event.anchor or "", 1), None
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        else:
            continue
        if anchor:
            sizes[anchor] = size
        counts[-1] += size
        if counts[-1] > MAX_VALUES:
            raise ShapeError(
                line, f"stands for more than {MAX_VALUES} values once its aliases are expanded"
            )
