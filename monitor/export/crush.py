"""Crush: a provider of ours under `providers`, selected as the `large` model. Strict JSON."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonfile
from monitor.export.common import OUR_ID, Rendered, Target, Writer, config_home


def default_path(env: Mapping[str, str]) -> Path:
    return config_home(env) / "crush" / "crush.json"


def provider_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    entry: dict[str, Any] = {
        "name": f"oss-monitor: {endpoint.name}",
        "type": "openai-compat",
        "base_url": target.url,
    }
    if target.key is not None:
        entry["api_key"] = target.key
    elif target.key_env is not None:
        entry["api_key"] = f"${target.key_env}"
    price = endpoint.price
    entry["models"] = [
        {
            "id": endpoint.model,
            "name": f"gpt-oss-120b ({endpoint.name})",
            "context_window": endpoint.context,
            "default_max_tokens": endpoint.max_output,
            "cost_per_1m_in": price.input if price else 0,
            "cost_per_1m_out": price.output if price else 0,
            "can_reason": True,
        }
    ]
    return entry


def render(before: str | None, target: Target, path: Path) -> Rendered:
    edits = [
        jsonfile.Edit(
            ("$schema",), "https://charm.land/crush.json", first=True, keep_existing=True
        ),
        jsonfile.Edit(("providers", OUR_ID), provider_entry(target)),
        jsonfile.Edit(("models", "large"), {"provider": OUR_ID, "model": target.endpoint.model}),
    ]
    after = jsonfile.apply(before, path, edits, strict=True)
    return Rendered(after, [f"Restart Crush to use {target.endpoint.name} as its large model."])


WRITER = Writer("Crush", default_path, render)
