"""OpenCode and Kilo Code 7.x (an OpenCode fork): one provider entry of ours, and `model`.

Both read JSONC and validate against a strict schema: only keys it knows go in our entry, and
`$schema` stays (older OpenCode rewrote a file lacking it, expanding env references to keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonfile
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
        return Rendered(after, [f"Restart {name} to use {target.endpoint.name}."])

    return Writer(name, default_path, render)


# Several files may exist: we edit the first found, the tool's preferred (highest) one.
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
    ("kilo.jsonc", "kilo.json", "config.json", "opencode.jsonc", "opencode.json"),
    "kilo.jsonc",  # Kilo's own writer keeps comments in .jsonc but rewrites .json whole
    "https://app.kilo.ai/config.json",
)
