"""Aider: `model`, `openai-api-base` (and, only with --include-key, `openai-api-key`) in
~/.aider.conf.yml. Aider does not expand variables in this file: the key comes from
OPENAI_API_KEY in the environment otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from monitor.export import yamlfile
from monitor.export.common import Rendered, Target, Writer, home


def default_path(env: Mapping[str, str]) -> Path:
    return home(env) / ".aider.conf.yml"


def settings(target: Target) -> dict[str, Any]:
    values = {"model": f"openai/{target.endpoint.model}", "openai-api-base": target.url}
    if target.key is not None:
        values["openai-api-key"] = target.key
    return values


def render(before: str | None, target: Target, path: Path) -> Rendered:
    wanted = settings(target)
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
    changed = {k: v for k, v in wanted.items() if data.get(k) != v}
    if not changed:
        return Rendered(before or "", notes)
    data.update(changed)
    return Rendered(yamlfile.dump(data, before), notes)


WRITER = Writer("Aider", default_path, render)
