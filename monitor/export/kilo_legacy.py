"""Kilo Code legacy / Roo Code VS Code extensions: a settings file to import.

Their profiles live in VS Code's secret storage, so the only way in from outside is the
extension's import file. It cannot reference an environment variable: the key is literal or
left empty, and a file holding it is written with mode 0600.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.export import jsonfile
from monitor.export.common import OUR_ID, Rendered, Target, Writer, config_home


def profile(target: Target) -> dict[str, Any]:
    endpoint = target.endpoint
    return {
        "id": OUR_ID,
        "apiProvider": "openai",  # the "OpenAI Compatible" choice
        "openAiBaseUrl": target.url,
        "openAiApiKey": target.key or "",
        "openAiModelId": endpoint.model,
        "openAiCustomModelInfo": {
            "contextWindow": endpoint.context,
            "maxTokens": endpoint.max_output,
            "supportsImages": False,
            "supportsPromptCache": False,
        },
        "openAiStreamingEnabled": True,
    }


def _render(app: str, before: str | None, target: Target, path: Path) -> Rendered:
    edits = [
        jsonfile.Edit(("providerProfiles", "currentApiConfigName"), OUR_ID),
        jsonfile.Edit(("providerProfiles", "apiConfigs", OUR_ID), profile(target)),
        jsonfile.Edit(("providerProfiles", "modeApiConfigs", "code"), OUR_ID),
        jsonfile.Edit(("globalSettings",), {}, keep_existing=True),
    ]
    notes = [
        f"Import {path} in {app}: Settings > About > Import, then pick the `oss-monitor` profile."
    ]
    if target.key is not None:
        notes.append(f"{path} holds your key in plain text (mode 0600); delete it after import.")
    elif target.key_env is not None:
        notes.append(
            f"The key is left empty because this format cannot read {target.key_env}: paste it "
            "into the profile after import, or export again with --include-key."
        )
    return Rendered(jsonfile.apply(before, path, edits, strict=True), notes)


def _make(name: str, app: str, file_name: str) -> Writer:
    def default_path(env: Mapping[str, str]) -> Path:
        return config_home(env) / "oss-monitor" / file_name

    def render(before: str | None, target: Target, path: Path) -> Rendered:
        return _render(app, before, target, path)

    return Writer(name, default_path, render)


# Roo Code is the extension Kilo Code legacy forked: the same import format.
WRITER = _make("Kilo Code legacy / Roo Code", "Kilo Code (or Roo Code)", "kilo-code-settings.json")
ROO = _make("Roo Code", "Roo Code", "roo-code-settings.json")
