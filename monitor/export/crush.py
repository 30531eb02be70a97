"""Crush: a provider of ours, selected as the `large` model.

Crush loads, later winning: `~/.config/crush/crush.json`, `crushrc` beside it (a Bash script,
preferred since v0.88; JSON is "deprecated but supported"), then its own state file
`~/.local/share/crush/crush.json`, where it saves the model picked in its menu. So the export
edits the state file when it selects a model (ours would lose to it otherwise), else the
`crushrc` when there is one, else `crush.json` (strict JSON, which every version reads).
In a `crushrc` our lines are a marked block of `provider add` / `model add` / `model large`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonfile, rcblock
from monitor.export.common import (
    OUR_ID,
    ExportError,
    Rendered,
    Target,
    Writer,
    config_home,
    data_home,
    first_existing,
)

RC_NAMES = ("crushrc", ".crushrc")
_SELECTS_LARGE = re.compile(r"^\s*model\s+large\s+\S", re.MULTILINE)


def config_dir(env: Mapping[str, str]) -> Path:
    root = env.get("CRUSH_GLOBAL_CONFIG")
    return Path(root) if root else config_home(env) / "crush"


def state_file(env: Mapping[str, str]) -> Path:
    root = env.get("CRUSH_GLOBAL_DATA")
    return Path(root) / "crush.json" if root else data_home(env) / "crush" / "crush.json"


def default_path(env: Mapping[str, str]) -> Path:
    if _selected_in(state_file(env)) is not None:
        return state_file(env)
    return first_existing(config_dir(env), ("crushrc", "crush.json"), "crush.json")


def model_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    price = endpoint.price
    cost_in = price.input if price else 0
    # Every field Crush's schema requires. No cache discount is known: cached tokens are
    # counted at the input price, which never undercounts.
    return {
        "id": endpoint.model,
        "name": f"gpt-oss-120b ({endpoint.name})",
        "context_window": endpoint.context,
        "default_max_tokens": endpoint.max_output,
        "cost_per_1m_in": cost_in,
        "cost_per_1m_out": price.output if price else 0,
        "cost_per_1m_in_cached": cost_in,
        "cost_per_1m_out_cached": cost_in,
        "can_reason": True,
        "supports_attachments": False,
    }


def provider_entry(target: Target) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"oss-monitor: {target.endpoint.name}",
        "type": "openai-compat",
        "base_url": target.url,
    }
    if target.key is not None:
        entry["api_key"] = target.key
    elif target.key_env is not None:
        entry["api_key"] = f"${target.key_env}"
    entry["models"] = [model_entry(target)]
    return entry


def rc_lines(target: Target) -> list[str]:
    """The same provider and selection as `crushrc` commands (each value shell-quoted)."""
    entry, model = provider_entry(target), model_entry(target)
    ref = shlex.quote(f"{OUR_ID}/{model['id']}")
    provider = ["provider", "add", OUR_ID, "--type", "openai-compat"]
    provider += ["--name", shlex.quote(entry["name"]), "--base-url", shlex.quote(entry["base_url"])]
    if target.key is not None:
        provider += ["--api-key", shlex.quote(target.key)]
    elif target.key_env is not None:
        provider += ["--api-key", f'"${target.key_env}"']  # expanded when Crush runs the file
    flags = {
        "--name": shlex.quote(model["name"]),
        "--context-window": model["context_window"],
        "--default-max-tokens": model["default_max_tokens"],
        "--can-reason": "true",
        "--supports-images": "false",
        "--price-input": model["cost_per_1m_in"],
        "--price-output": model["cost_per_1m_out"],
        "--price-cache-hit": model["cost_per_1m_in_cached"],
        "--price-cache-create": model["cost_per_1m_out_cached"],
    }
    add_model = ["model", "add", ref, *(f"{k} {v}" for k, v in flags.items())]
    return [" ".join(provider), " ".join(add_model), f"model large {ref}"]


def render(before: str | None, target: Target, path: Path) -> Rendered:
    notes = [f"Restart Crush to use {target.endpoint.name} as its large model."]
    if path.name in RC_NAMES:
        return Rendered(rcblock.put(before, rc_lines(target), path), notes)
    edits = [
        jsonfile.Edit(
            ("$schema",), "https://charm.land/crush.json", first=True, keep_existing=True
        ),
        jsonfile.Edit(("providers", OUR_ID), provider_entry(target)),
        jsonfile.Edit(("models", "large"), {"provider": OUR_ID, "model": target.endpoint.model}),
    ]
    return Rendered(jsonfile.apply(before, path, edits, strict=True), notes)


def overrides(path: Path, env: Mapping[str, str]) -> list[str]:
    """Files Crush loads after `path` that select another large model."""
    later: list[Path] = []
    if path.name == "crush.json" and path.parent == config_dir(env):
        later.append(path.parent / "crushrc")
    if path.resolve() != state_file(env).resolve():
        later.append(state_file(env))
    notes = []
    for other in later:
        selected = _selected_in(other)
        if selected is not None and selected != OUR_ID:
            notes.append(
                f"{other} loads after {path} and selects another large model (Crush saves the "
                f"model picked in its menu there), so Crush will use that; export with "
                f"--config {other} instead."
            )
    return notes


def _selected_in(path: Path) -> str | None:
    """The provider of the large model that file selects, "?" if unknown; None if none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.name in RC_NAMES:
        try:
            before, _, after = rcblock.split(text, path)
        except ExportError:  # unpaired markers (the render refuses those): read it all
            before, after = text, ""
        return "?" if _SELECTS_LARGE.search(before + after) else None
    try:
        large = json.loads(text).get("models", {}).get("large")
    except (ValueError, AttributeError):
        return None
    return str(large.get("provider", "?")) if isinstance(large, dict) else None


WRITER = Writer("Crush", default_path, render, overrides)
