"""Continue: one model entry of ours in `models` of ~/.continue/config.yaml.

`cn` resolves `${{ secrets.X }}` from the shell's environment first, then ~/.continue/.env;
the VS Code extension does not see the shell, so there the key belongs in ~/.continue/.env.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedSeq

from monitor.export import yamlfile
from monitor.export.common import ExportError, Rendered, Target, Writer, home

OUR_NAME = "gpt-oss-120b (oss-monitor)"  # how we find our entry again


def default_path(env: Mapping[str, str]) -> Path:
    return home(env) / ".continue" / "config.yaml"


def model_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    entry: dict[str, Any] = {
        "name": OUR_NAME,
        "provider": "openai",
        "model": endpoint.model,
        "apiBase": target.url,
    }
    if target.key is not None:
        entry["apiKey"] = target.key
    elif target.key_env is not None:
        entry["apiKey"] = f"${{{{ secrets.{target.key_env} }}}}"
    entry["roles"] = ["chat", "edit", "apply"]
    entry["defaultCompletionOptions"] = {
        "contextLength": endpoint.context,
        "maxTokens": endpoint.max_output,
    }
    return entry


def render(before: str | None, target: Target, path: Path) -> Rendered:
    entry = model_entry(target)
    data = yamlfile.load(before, path)
    notes = [f"Pick '{OUR_NAME}' in Continue's model menu ({target.endpoint.name})."]
    if target.key is None and target.key_env is not None:
        notes.append(
            f"`cn` reads {target.key_env} from your shell; the VS Code extension reads it from "
            f"{path.parent / '.env'}: add the line {target.key_env}=… there."
        )
    if data is None:
        fresh = {"name": "Local Config", "version": "1.0.0", "schema": "v1", "models": [entry]}
        return Rendered(yamlfile.dump(fresh, None), notes)
    models = data.setdefault("models", CommentedSeq())
    if not isinstance(models, list):
        line = data.lc.key("models")[0] + 1
        raise ExportError(
            f"{path}:{line}: `models` must be a list; fix the file, nothing was changed"
        )
    ours = [i for i, m in enumerate(models) if isinstance(m, dict) and m.get("name") == OUR_NAME]
    if ours and models[ours[-1]] == entry:
        return Rendered(before or "", notes)
    if ours:
        models[ours[-1]] = entry
    else:
        models.append(entry)
    return Rendered(yamlfile.dump(data, before), notes)


WRITER = Writer("Continue", default_path, render)
