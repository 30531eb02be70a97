"""Aider: `model`, `openai-api-base`, `model-metadata-file` (and, only with --include-key,
`openai-api-key`) in ~/.aider.conf.yml. Aider does not expand variables in this file: the key
comes from OPENAI_API_KEY in the environment otherwise.

Without metadata Aider warns that the model's context window is unknown, so the export also
writes a metadata file of ours beside the config (litellm's format) and points the config at it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from monitor.export import yamlfile
from monitor.export.common import Rendered, Target, Writer, home


def default_path(env: Mapping[str, str]) -> Path:
    return home(env) / ".aider.conf.yml"


def metadata_path(config: Path) -> Path:
    return config.parent / ".aider.oss-monitor.metadata.json"


def metadata(target: Target) -> str:
    """litellm's model entry: context window, output limit and prices, per token."""
    endpoint = target.endpoint
    price = endpoint.price
    entry = {
        "max_tokens": endpoint.max_output,
        "max_input_tokens": endpoint.context,
        "max_output_tokens": endpoint.max_output,
        "input_cost_per_token": price.input / 1e6 if price else 0,
        "output_cost_per_token": price.output / 1e6 if price else 0,
        "litellm_provider": "openai",
        "mode": "chat",
    }
    return json.dumps({f"openai/{endpoint.model}": entry}, indent=2) + "\n"


def settings(target: Target, path: Path) -> dict[str, Any]:
    values = {
        "model": f"openai/{target.endpoint.model}",
        "openai-api-base": target.url,
        "model-metadata-file": str(metadata_path(path)),
    }
    if target.key is not None:
        values["openai-api-key"] = target.key
    return values


def render(before: str | None, target: Target, path: Path) -> Rendered:
    wanted = settings(target, path)
    data = yamlfile.load(before, path) or CommentedMap()
    notes = [f"Aider now uses {target.endpoint.name} as openai/{target.endpoint.model}."]
    if target.key is None:
        source = f'"${target.key_env}"' if target.key_env else "unused"
        notes.append(
            f"Aider reads the key from OPENAI_API_KEY: run `export OPENAI_API_KEY={source}`."
        )
        if "openai-api-key" in data:
            notes.append(
                f"{path} already sets openai-api-key, which Aider will send to "
                f"{target.endpoint.name}; remove that line if it is another provider's key."
            )
    if data.get("model-metadata-file") not in (None, wanted["model-metadata-file"]):
        notes.append(
            f"{path} named another model-metadata-file; Aider still reads "
            "~/.aider.model.metadata.json, so move your entries there."
        )
    companions = {metadata_path(path): metadata(target)}
    return yamlfile.set_keys(data, before, wanted, notes, companions)


WRITER = Writer("Aider", default_path, render)
