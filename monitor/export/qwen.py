"""Qwen Code: our model in `modelProviders.openai` of ~/.qwen/settings.json, selected by
`model.name` with `security.auth.selectedType: "openai"`.

Qwen Code reads the key from the variable named by the entry's `envKey` (the process
environment first, then the file's `env` block); `--include-key` puts the key in that block.
A project's `.qwen/settings.json` and the system file load later and win over this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonc, jsonfile
from monitor.export.common import ExportError, Rendered, Target, Writer, home, parse_failure

OUR_NAME = "gpt-oss-120b (oss-monitor)"  # how we find our entry again in the array
KEY_ENV = "OSS_MONITOR_API_KEY"  # the variable named when the endpoint has none of its own


def default_path(env: Mapping[str, str]) -> Path:
    return home(env) / ".qwen" / "settings.json"


def model_entry(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    return {
        "id": endpoint.model,
        "name": OUR_NAME,
        "description": f"oss-monitor: {endpoint.name}",
        "baseUrl": target.url,
        "envKey": target.key_env or KEY_ENV,
        "generationConfig": {"contextWindowSize": endpoint.context},
    }


def render(before: str | None, target: Target, path: Path) -> Rendered:
    entry = model_entry(target)
    try:
        root = jsonc.parse(before) if before else None
    except jsonc.JsoncError as exc:
        raise parse_failure(path, exc.line, exc.why) from None
    current = root.value if root is not None else {}
    providers = current.get("modelProviders", {})
    models = providers.get("openai", []) if isinstance(providers, dict) else None
    if not isinstance(models, list):
        raise ExportError(
            f"{path}: `modelProviders.openai` must be a list; fix the file, nothing was changed"
        )
    others = [m for m in models if not (isinstance(m, dict) and m.get("name") == OUR_NAME)]
    edits = [
        jsonfile.Edit(("modelProviders", "openai"), [*others, entry]),
        jsonfile.Edit(("security", "auth", "selectedType"), "openai"),
        jsonfile.Edit(("model", "name"), target.endpoint.model),
    ]
    if root is None:  # the settings format Qwen Code would otherwise migrate a new file to
        edits.append(jsonfile.Edit(("$version",), 4))
    if target.key is not None:
        edits.append(jsonfile.Edit(("env", entry["envKey"]), target.key))
    notes = [f"Qwen Code now uses {target.endpoint.name}; restart it to pick the model up."]
    if target.key is None:
        source = f'"${target.key_env}"' if target.key_env else "any-value"
        needs = f"export {KEY_ENV}={source}" if entry["envKey"] == KEY_ENV else ""
        notes.append(
            f"Qwen Code reads the key from {entry['envKey']} in your shell"
            + (f": run `{needs}`." if needs else ".")
        )
    return Rendered(jsonfile.apply(before, path, edits, strict=False), notes)


WRITER = Writer("Qwen Code", default_path, render)
