"""Round-trip YAML (ruamel.yaml) so comments, order and quoting of the user's file survive."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.export.common import ExportError, Rendered, parse_failure

Style = tuple[int, int, int]  # mapping indent, sequence indent, dash offset
DEFAULT_STYLE: Style = (2, 2, 0)
STYLES: list[Style] = [
    (m, s, o) for m, s, o in itertools.product((2, 4, 3), (2, 4, 6, 3), (0, 2, 4, 1)) if o <= s - 2
]


def _yaml(style: Style) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    return yaml


def load(before: str | None, path: Path) -> CommentedMap | None:
    """The top-level mapping, or None for a missing or empty file."""
    if before is None or not before.strip():
        return None
    try:
        data = _yaml(DEFAULT_STYLE).load(before)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise parse_failure(path, line, f"YAML error: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise parse_failure(path, 1, f"YAML error: {exc}") from None
    if data is None:
        return None
    if not isinstance(data, CommentedMap):
        raise ExportError(
            f"{path}:1: the top level must be a mapping; fix the file, nothing was changed"
        )
    return data


def dump(data: Any, before: str | None) -> str:
    """Emit `data` in the indentation style under which `before` re-emits unchanged."""
    return _emit(data, _style(before))


def set_keys(
    data: CommentedMap,
    before: str | None,
    wanted: dict[str, Any],
    notes: list[str],
    companions: dict[Path, str],
) -> Rendered:
    """Top-level keys set to what we want; the file untouched when they already are."""
    changed = {k: v for k, v in wanted.items() if data.get(k) != v}
    if not changed:
        return Rendered(before or "", notes, companions)
    data.update(changed)
    return Rendered(dump(data, before), notes, companions)


def _style(before: str | None) -> Style:
    """The style read off the text itself: re-emitting a large file under each candidate
    style to compare took most of a minute for 1 MB (ruamel is pure Python)."""
    if before is None or not before.strip():
        return DEFAULT_STYLE
    lines = [
        (len(line) - len(line.lstrip(" ")), line.strip())
        for line in before.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    mapping = sequence = None
    for (indent, text), (inner, following) in itertools.pairwise(lines):
        if not text.endswith(":") or inner < indent:
            continue
        if following.startswith("- ") and sequence is None:
            content = inner + len(following) - len(following[1:].lstrip(" "))  # past "-  "
            sequence = (content - indent, inner - indent)
        elif not following.startswith("- ") and inner > indent and mapping is None:
            mapping = inner - indent
        if mapping is not None and sequence is not None:
            break
    style = (mapping or DEFAULT_STYLE[0], *(sequence or DEFAULT_STYLE[1:]))
    return style if style in STYLES else DEFAULT_STYLE


def _emit(data: Any, style: Style) -> str:
    out = io.StringIO()
    _yaml(style).dump(data, out)
    return out.getvalue()
