"""What the real tools revealed: Kilo's load order, Aider's model metadata, Codex's context."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.export import apply_export, default_config_path, plan_export
from tests.export.test_export_tools import CEREBRAS, GROQ, KEY


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "GROQ_API_KEY": KEY, "CEREBRAS_API_KEY": "csk-x"}


def test_kilo_writes_the_file_it_loads_last(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    folder = tmp_path / ".config" / "kilo"
    folder.mkdir(parents=True)
    for name in ("config.json", "kilo.jsonc"):
        (folder / name).write_text("{}\n")
    assert default_config_path("kilo", env) == folder / "kilo.jsonc"
    (folder / "opencode.json").write_text('{"model": "anthropic/claude"}\n')
    assert default_config_path("kilo", env) == folder / "opencode.json"


def test_kilo_warns_when_a_later_file_overrides_the_chosen_one(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    folder = tmp_path / ".config" / "kilo"
    folder.mkdir(parents=True)
    (folder / "opencode.jsonc").write_text('{\n  // mine\n  "model": "anthropic/claude"\n}\n')
    (folder / "opencode.json").write_text('{"theme": "dark"}\n')  # loads earlier; no model
    plan = plan_export("kilo", GROQ, config=folder / "kilo.jsonc", env=env)
    warnings = [n for n in plan.notes if "loads after" in n]
    assert warnings == [
        f"{folder / 'opencode.jsonc'} loads after kilo.jsonc and sets `model`, so Kilo Code "
        f"will use that; export with --config {folder / 'opencode.jsonc'} instead."
    ]


def test_aider_gets_model_metadata_beside_its_config(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    config = tmp_path / ".aider.conf.yml"
    plan = plan_export("aider", CEREBRAS, config=config, env=env)
    metadata = tmp_path / ".aider.oss-monitor.metadata.json"
    assert any(str(metadata) in n for n in plan.notes)
    apply_export(plan, env=env)
    assert f"model-metadata-file: {metadata}" in config.read_text()
    entry = json.loads(metadata.read_text())["openai/gpt-oss-120b"]
    assert entry["max_input_tokens"] == 65536 and entry["max_output_tokens"] == 16384
    assert entry["litellm_provider"] == "openai" and KEY not in metadata.read_text()
    assert not plan_export("aider", CEREBRAS, config=config, env=env).changed
    metadata.write_text("{}")  # ours, so it is simply written again
    again = plan_export("aider", CEREBRAS, config=config, env=env)
    assert again.changed and again.diff == ""
    apply_export(again, env=env)
    assert "openai/gpt-oss-120b" in json.loads(metadata.read_text())


def test_codex_gets_the_context_window(tmp_path: Path) -> None:
    plan = plan_export("codex", GROQ, config=tmp_path / "c.toml", env=env_for(tmp_path))
    assert "model_context_window = 131072" in plan.after
