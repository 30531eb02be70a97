"""Goose: a custom provider file of ours, selected by `GOOSE_PROVIDER` / `GOOSE_MODEL`.

Goose reads custom (declarative) providers from `<config dir>/custom_providers/*.json`, one
provider per file, so ours is a whole file of its own written beside the config; the config
itself is `<config dir>/config.yaml` (`$GOOSE_PATH_ROOT/config`, else `$XDG_CONFIG_HOME/goose`
or ~/.config/goose), where only the two selection keys change. Goose reads the key from the
variable named by `api_key_env` (the environment first, then its keyring): never from a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from monitor.export import yamlfile
from monitor.export.common import Rendered, Target, Writer, config_home

PROVIDER_ID = "custom_oss_monitor"  # Goose names custom providers custom_<name>


def config_dir(env: Mapping[str, str]) -> Path:
    root = env.get("GOOSE_PATH_ROOT")
    if root and Path(root).is_absolute():
        return Path(root) / "config"
    return config_home(env) / "goose"


def default_path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / "config.yaml"


def provider_path(config: Path) -> Path:
    return config.parent / "custom_providers" / f"{PROVIDER_ID}.json"


def provider_file(target: Target) -> str:
    endpoint = target.endpoint
    entry: dict[str, Any] = {
        "name": PROVIDER_ID,
        "engine": "openai",
        "display_name": f"oss-monitor: {endpoint.name}",
        "description": f"gpt-oss-120b on {endpoint.name}, chosen by oss-monitor",
        "api_key_env": target.key_env or "",
        "base_url": target.url,
        "models": [{"name": endpoint.model, "context_limit": endpoint.context}],
        "supports_streaming": True,
        "requires_auth": target.key_env is not None,
    }
    return json.dumps(entry, indent=2) + "\n"


def render(before: str | None, target: Target, path: Path) -> Rendered:
    wanted = {"GOOSE_PROVIDER": PROVIDER_ID, "GOOSE_MODEL": target.endpoint.model}
    data = yamlfile.load(before, path) or CommentedMap()
    notes = [f"Goose now uses {target.endpoint.name}; start a new session to pick it up."]
    if target.key_env is not None:
        notes.append(f"Goose reads the key from {target.key_env} in your shell (or its keyring).")
    if target.key is not None:
        notes.append("Goose reads keys only from the environment or its keyring: none was written.")
    companions = {provider_path(path): provider_file(target)}
    return yamlfile.set_keys(data, before, wanted, notes, companions)


def overrides(path: Path, env: Mapping[str, str]) -> list[str]:
    """GOOSE_PROVIDER / GOOSE_MODEL in the environment win over the config file."""
    return [
        f"{name} is set in your environment and wins over {path}; unset it."
        for name in ("GOOSE_PROVIDER", "GOOSE_MODEL")
        if env.get(name)
    ]


WRITER = Writer("Goose", default_path, render, overrides)
