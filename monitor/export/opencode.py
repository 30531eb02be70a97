"""OpenCode and Kilo Code 7.x (an OpenCode fork): one provider entry of ours, and `model`.

Both read JSONC and validate against a strict schema: only keys it knows go in our entry, and
`$schema` stays (older OpenCode rewrote a file lacking it, expanding env references to keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonc, jsonfile
from monitor.export.common import OUR_ID, Rendered, Target, Writer, config_home, first_existing


def provider_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    options: dict[str, Any] = {"baseURL": target.url}
    if target.key is not None:
        options["apiKey"] = target.key
    elif target.key_env is not None:
        options["apiKey"] = f"{{env:{target.key_env}}}"
    model = {
        "name": f"gpt-oss-120b ({endpoint.name})",
        "limit": {"context": endpoint.context, "output": endpoint.max_output},
    }
    return {
        "npm": "@ai-sdk/openai-compatible",
        "name": f"oss-monitor: {endpoint.name}",
        "options": options,
        "models": {endpoint.model: model},
    }


def _make(name: str, folder: str, files: tuple[str, ...], new: str, schema: str) -> Writer:
    def default_path(env: Mapping[str, str]) -> Path:
        return first_existing(config_home(env) / folder, files, new)

    def render(before: str | None, target: Target, path: Path) -> Rendered:
        edits = [
            jsonfile.Edit(("$schema",), schema, first=True, keep_existing=True),
            jsonfile.Edit(("provider", OUR_ID), provider_entry(target)),
            jsonfile.Edit(("model",), f"{OUR_ID}/{target.endpoint.model}"),
        ]
        after = jsonfile.apply(before, path, edits, strict=False)
        notes = [f"Restart {name} to use {target.endpoint.name}."]
        return Rendered(after, notes + _overridden(name, path, files))

    return Writer(name, default_path, render)


def _overridden(name: str, path: Path, files: tuple[str, ...]) -> list[str]:
    """A warning for each file beside ours that the tool loads later and that sets `model`."""
    if path.name not in files:
        return []
    notes = []
    for later in files[: files.index(path.name)]:
        other = path.parent / later
        try:
            root = jsonc.parse(other.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, jsonc.JsoncError):
            continue  # missing or unreadable: the tool cannot take a model from it either
        if root is not None and root.get("model") is not None:
            notes.append(
                f"{other} loads after {path.name} and sets `model`, so {name} will use that; "
                f"export with --config {other} instead."
            )
    return notes


# Several files may exist and load in turn, later ones winning: `files` lists them last-loaded
# first, and we edit the first that exists, the one the tool reads last.
OPENCODE = _make(
    "OpenCode",
    "opencode",
    ("opencode.jsonc", "opencode.json", "config.json"),
    "opencode.json",
    "https://opencode.ai/config.json",
)
KILO = _make(
    "Kilo Code",
    "kilo",
    ("opencode.jsonc", "opencode.json", "kilo.jsonc", "kilo.json", "config.json"),
    "kilo.jsonc",  # Kilo's own writer keeps comments in .jsonc but rewrites .json whole
    "https://app.kilo.ai/config.json",
)
