"""A JSON/JSONC tool config: a fresh document, or a list of in-place edits to an existing one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.export import jsonc
from monitor.export.common import ExportError, parse_failure


@dataclass(frozen=True)
class Edit:
    path: tuple[str, ...]
    value: Any
    first: bool = False  # insert a new member at the top (where `$schema` belongs)
    keep_existing: bool = False  # only add it when missing


def apply(before: str | None, path: Path, edits: Sequence[Edit], strict: bool) -> str:
    """Apply the edits to the text, or build a new document from them when there is none."""
    try:
        if before is None or jsonc.parse(before, strict) is None:
            fresh: dict[str, Any] = {}
            for edit in edits:
                _nest(fresh, edit.path, edit.value)
            # A file of only comments keeps them above the new object.
            kept = before.rstrip() + "\n" if before and before.strip() else ""
            return kept + json.dumps(fresh, indent=2, ensure_ascii=False) + "\n"
        text = before
        for edit in edits:
            text = jsonc.set_value(
                text,
                edit.path,
                edit.value,
                strict=strict,
                first=edit.first,
                keep_existing=edit.keep_existing,
            )
            _check_landed(text, path, edit, strict)
        return text
    except jsonc.JsoncError as exc:
        raise parse_failure(path, exc.line, exc.why) from None


def _check_landed(text: str, path: Path, edit: Edit, strict: bool) -> None:
    """Parse the edited text again, as the tool will: a splice that landed inside a comment
    or a string would otherwise be written, reported as done, and ignored by the tool."""
    try:
        node = jsonc.parse(text, strict)
    except jsonc.JsoncError:
        node = None
    value: Any = node.value if node is not None else None
    for key in edit.path:
        value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
    if value is _MISSING or (not edit.keep_existing and value != edit.value):
        raise ExportError(
            f"{path}: our `{'.'.join(edit.path)}` did not land where the tool would read it "
            "(an unusual comment or layout); add it by hand, nothing was changed"
        )


_MISSING = object()


def _nest(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc.setdefault(key, {})
    doc[path[-1]] = value
