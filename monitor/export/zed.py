"""Zed: our provider in `language_models.openai_compatible` of settings.json (JSONC), and
`agent.default_model` selecting it.

Zed reads an OpenAI-compatible provider's key from the variable named after the provider id
(upper snake case + `_API_KEY`: OSS_MONITOR_API_KEY for ours) or from its keychain, and its
docs say never to put one in settings.json, so no key is ever written there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonfile
from monitor.export.common import OUR_ID, Rendered, Target, Writer, config_home

KEY_ENV = "OSS_MONITOR_API_KEY"  # what Zed derives from the provider id `oss-monitor`


def default_path(env: Mapping[str, str]) -> Path:
    return config_home(env) / "zed" / "settings.json"


def provider_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    model = {
        "name": endpoint.model,
        "display_name": f"gpt-oss-120b ({endpoint.name})",
        "max_tokens": endpoint.context,
        "max_output_tokens": endpoint.max_output,
    }
    return {"api_url": target.url, "available_models": [model]}


def render(before: str | None, target: Target, path: Path) -> Rendered:
    edits = [
        jsonfile.Edit(("language_models", "openai_compatible", OUR_ID), provider_entry(target)),
        jsonfile.Edit(
            ("agent", "default_model"), {"provider": OUR_ID, "model": target.endpoint.model}
        ),
    ]
    source = f'"${target.key_env}"' if target.key_env else "any-value"
    notes = [
        f"Zed's agent now uses {target.endpoint.name}; pick another model in its panel any time.",
        f"Zed reads the key from {KEY_ENV}: run `export {KEY_ENV}={source}` before starting "
        "Zed, or paste the key in Agent Settings > LLM Providers (kept in the keychain).",
    ]
    if target.key is not None:
        notes.append("Zed takes keys only from the environment or its keychain: none was written.")
    return Rendered(jsonfile.apply(before, path, edits, strict=False), notes)


WRITER = Writer("Zed", default_path, render)
