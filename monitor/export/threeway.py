"""Undo when the tool touched its file after our export: a three-way merge on the parsed data.

Kilo rewrites its config on first start (it adds a `permission` block), Qwen Code adds
`$version`: a plain restore would throw their changes away, so undo used to refuse. Here the
keys our export changed (before -> written) are found; if the file still holds exactly what we
wrote at each of them, those keys go back to their old value (or away) in the current text,
and everything else the tool or the user changed since stays. Otherwise nothing is merged.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
import yaml

from monitor.export import jsonc, rcblock, yamlfile
from monitor.export.common import ExportError

Key = tuple[str, ...]
MISSING: Any = object()  # a key the file did not have


@dataclass(frozen=True)
class Merge:
    text: str
    empty: bool  # nothing left: a file our export created can go
    theirs: list[str]  # the top-level keys changed by someone else since our export


def take_back(path: Path, before: str | None, written: str, current: str) -> Merge | None:
    """`current` without our export's changes, or None if one of our keys changed since."""
    load, edit = _FORMATS[_kind(path)]
    try:
        old, ours, now = load(before or ""), load(written), load(current)
    except (ValueError, yaml.YAMLError, jsonc.JsoncError):
        return None  # a file we cannot read is not merged, only refused
    changes = _diff(old, ours)
    if any(_get(now, key) != _get(ours, key) for key, _ in changes):
        return None
    text = edit(current, path, changes)
    theirs = sorted({key[0] for key, _ in _diff(ours, now)})
    return Merge(text, not load(text), theirs)


def _diff(a: Mapping[str, Any], b: Mapping[str, Any], prefix: Key = ()) -> list[tuple[Key, Any]]:
    """Where `b` differs from `a`, as deep as both sides are mappings; with `a`'s value there."""
    found: list[tuple[Key, Any]] = []
    for name in [*a, *(k for k in b if k not in a)]:
        left, right = a.get(name, MISSING), b.get(name, MISSING)
        if left == right:
            continue
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            found += _diff(left, right, (*prefix, name))
        else:
            found.append(((*prefix, name), left))
    return found


def _get(doc: Any, key: Key) -> Any:
    for name in key:
        if not isinstance(doc, Mapping) or name not in doc:
            return MISSING
        doc = doc[name]
    return doc


def _kind(path: Path) -> str:
    if path.name in ("crushrc", ".crushrc"):
        return "rc"
    suffix = path.suffix.lower()
    return {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}.get(suffix, "json")


# ---------------------------------------------------------------- JSON / JSONC


def _load_json(text: str) -> dict[str, Any]:
    root = jsonc.parse(text)
    return dict(root.value) if root is not None else {}


def _edit_json(text: str, path: Path, changes: list[tuple[Key, Any]]) -> str:
    for key, old in changes:
        text = _remove_member(text, key) if old is MISSING else jsonc.set_value(text, key, old)
    return text


def _remove_member(text: str, key: Key) -> str:
    """Cut one member out of the text, its comma and its line; comments of others stay."""
    node = jsonc.parse(text)
    for name in key[:-1]:
        member = node.get(name) if node else None
        node = member.node if member else None
    found = node.get(key[-1]) if node else None
    if node is None or found is None:
        return text
    members = node.members
    at = members.index(found)
    if len(members) == 1:
        return text[: node.start] + "{}" + text[node.end :]
    if found.comma is None:  # the last member: take the comma before it instead
        return text[: members[at - 1].comma] + text[found.node.end :]
    start, end = found.start, found.comma + 1
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip():  # alone on its line: the whole line goes
        newline = text.find("\n", end)
        if newline >= 0 and not text[end:newline].strip():
            return text[:line_start] + text[newline + 1 :]
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[:start] + text[end:]


# ---------------------------------------------------------------- YAML and TOML


def _load_yaml(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text) if text.strip() else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("the top level is not a mapping")
    return data


def _edit_yaml(text: str, path: Path, changes: list[tuple[Key, Any]]) -> str:
    data = yamlfile.load(text, path)
    if data is None:
        return text
    _apply(data, changes)
    return yamlfile.dump(data, text)


def _load_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def _edit_toml(text: str, path: Path, changes: list[tuple[Key, Any]]) -> str:
    doc = tomlkit.parse(text)
    _apply(doc, changes)
    return tomlkit.dumps(doc)


def _apply(doc: Any, changes: list[tuple[Key, Any]]) -> None:
    """Round-trip documents (ruamel, tomlkit) edited like dicts: put back or delete each key."""
    for key, old in changes:
        parent = doc
        for name in key[:-1]:
            parent = parent[name]
        if old is MISSING:
            del parent[key[-1]]
        else:
            parent[key[-1]] = old


# ---------------------------------------------------------------- a shell script with our block

_BLOCK, _REST = "the oss-monitor block", "lines outside it"


def _load_rc(text: str) -> dict[str, Any]:
    try:
        before, ours, after = rcblock.split(text, Path("crushrc"))
    except ExportError as exc:
        raise ValueError(str(exc)) from None
    rest = (before + after).rstrip()  # the blank line put before our block is not theirs
    found = {_BLOCK: ours, _REST: rest}
    return {key: value for key, value in found.items() if value}


def _edit_rc(text: str, path: Path, changes: list[tuple[Key, Any]]) -> str:
    for key, old in changes:
        if key == (_BLOCK,):
            if old is MISSING:
                text = rcblock.remove(text, path)
            else:
                text = rcblock.put(text, old.splitlines(), path)
    return text


_FORMATS: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[..., str]]] = {
    "json": (_load_json, _edit_json),
    "yaml": (_load_yaml, _edit_yaml),
    "toml": (_load_toml, _edit_toml),
    "rc": (_load_rc, _edit_rc),
}
