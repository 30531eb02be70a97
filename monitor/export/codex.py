"""Codex CLI: `[model_providers.oss-monitor]` and `model` / `model_provider` in config.toml.

Codex speaks only the Responses API (`wire_api = "responses"`; "chat" is refused by current
versions), so only endpoints known to serve `/responses` for gpt-oss qualify.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from monitor.export.common import OUR_ID, ExportError, Rendered, Target, Writer, home, parse_failure

# Catalogue ids whose provider documents a Responses API (2026 docs; see README, "Codex CLI").
RESPONSES_API = frozenset(
    {"openrouter", "groq", "huggingface", "cloudflare", "vllm", "ollama", "lmstudio"}
)


def default_path(env: Mapping[str, str]) -> Path:
    codex_home = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else home(env) / ".codex"
    return codex_home / "config.toml"


def provider_table(target: Target) -> dict[str, Any]:
    entry = {"name": f"oss-monitor: {target.endpoint.name}", "base_url": target.url}
    if target.key_env is not None:
        entry["env_key"] = target.key_env
    entry["wire_api"] = "responses"
    return entry


def render(before: str | None, target: Target, path: Path) -> Rendered:
    endpoint = target.endpoint
    if endpoint.id not in RESPONSES_API and endpoint.id != "router":  # the router speaks it
        known = ", ".join(sorted(RESPONSES_API))
        raise ExportError(
            f"Codex needs the Responses API, which {endpoint.id} is not known to serve; "
            f"pick one of {known} with --endpoint"
        )
    try:
        doc = tomlkit.parse(before or "")
    except ParseError as exc:
        raise parse_failure(path, exc.line, f"TOML error: {exc}") from None
    # Codex assumes a 272k context window for a model it does not know: give the real one.
    wanted_top = {
        "model": endpoint.model,
        "model_provider": OUR_ID,
        "model_context_window": endpoint.context,
    }
    wanted_table = provider_table(target)
    providers = doc.get("model_providers")
    if providers is not None and not isinstance(providers, Table | InlineTable):
        raise ExportError(
            f"{path}: `model_providers` must be a table; fix the file, nothing was changed"
        )
    key_source = f"the key from {target.key_env}" if target.key_env else "no key"
    notes = [f"Codex now uses {endpoint.name}, with {key_source}."]
    if target.key is not None:
        notes.append("Codex reads keys only from the environment, so no key was written.")
    current = providers.get(OUR_ID) if providers is not None else None
    same_table = current is not None and current.unwrap() == wanted_table
    if same_table and all(doc.get(k) == v for k, v in wanted_top.items()):
        return Rendered(before or "", notes)
    expected = doc.unwrap()
    expected.update(wanted_top)
    expected.setdefault("model_providers", {})[OUR_ID] = wanted_table
    for key, value in wanted_top.items():
        if doc.get(key) != value:
            doc[key] = value
    after = _with_table(doc, providers, wanted_table, same_table)
    if _parsed(after) != expected:
        # tomlkit misplaces a new table among dotted keys (`model_providers.x.name = ...`):
        # a [model_providers.oss-monitor] header at the end is valid TOML in every case.
        doc.get("model_providers", {}).pop(OUR_ID, None)
        tail = tomlkit.dumps({"model_providers": {OUR_ID: wanted_table}})
        after = tomlkit.dumps(doc).rstrip("\n") + "\n\n" + tail
    if _parsed(after) != expected:
        raise ExportError(
            f"{path}: could not add our provider without changing other settings; "
            "add it by hand, nothing was changed"
        )
    return Rendered(after, notes)


def _with_table(doc: TOMLDocument, providers: Any, wanted: dict[str, Any], same: bool) -> str:
    if isinstance(providers, InlineTable):  # nothing may be added outside its braces
        inline = tomlkit.inline_table()
        inline.update(wanted)
        providers[OUR_ID] = inline
    elif not same:
        table = tomlkit.table()
        table.update(wanted)
        if providers is None:
            providers = tomlkit.table(is_super_table=True)
            doc["model_providers"] = providers
        else:
            table.add(tomlkit.nl())  # other tables may follow: keep a blank line before them
        providers[OUR_ID] = table
    return tomlkit.dumps(doc)


def _parsed(text: str) -> Any:
    """What Codex will read: our check that the edit landed, and nothing else moved."""
    try:
        return tomlkit.parse(text).unwrap()
    except ParseError:
        return None


WRITER = Writer("Codex CLI", default_path, render)
