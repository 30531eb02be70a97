"""`export claude-code --via-router`: the env block of Claude Code's settings.json, safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.catalog import Endpoint
from monitor.export import ExportError, apply_export, default_config_path, plan_export, undo_export

URL = "http://127.0.0.1:8765/v1"
THEIRS = """{
  "permissions": {"allow": ["Bash(ls:*)"]},
  "env": {"FOO": "bar", "ANTHROPIC_BASE_URL": "https://old.example"},
  "model": "opus"
}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home")}


def test_fresh_settings_point_at_the_router_root(env: dict[str, str]) -> None:
    plan = plan_export("claude-code", None, env=env, router_url=URL)
    assert plan.path == Path(env["HOME"]) / ".claude" / "settings.json"
    settings = json.loads(plan.after)
    assert settings == {
        "env": {
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:8765",  # Claude Code appends /v1/messages
            "ANTHROPIC_MODEL": "gpt-oss-120b",
            "ANTHROPIC_SMALL_FAST_MODEL": "gpt-oss-120b",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "gpt-oss-120b",
            "ANTHROPIC_AUTH_TOKEN": "oss-monitor-router",  # a placeholder: the router has no token
        }
    }
    apply_export(plan, env=env)
    assert plan.path.stat().st_mode & 0o777 == 0o644
    again = plan_export("claude-code", None, env=env, router_url=URL)
    assert not again.changed


def test_other_settings_are_kept_and_undo_restores(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "settings.json"
    path.write_text(THEIRS)
    plan = plan_export("claude-code", None, config=path, env=env, router_url=URL)
    settings = json.loads(plan.after)
    assert settings["permissions"] == {"allow": ["Bash(ls:*)"]} and settings["model"] == "opus"
    assert settings["env"]["FOO"] == "bar"
    assert settings["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8765"
    result = apply_export(plan, env=env)
    assert result.backup is not None and result.backup.read_text() == THEIRS
    undo_export("claude-code", env=env)
    assert path.read_text() == THEIRS


def test_the_token_is_referenced_never_written(env: dict[str, str]) -> None:
    with_token = {**env, "OSS_MONITOR_ROUTER_TOKEN": "tok-secret-99"}
    plan = plan_export("claude-code", None, env=with_token, router_url=URL)
    settings = json.loads(plan.after)
    assert settings["apiKeyHelper"] == 'printf %s "$OSS_MONITOR_ROUTER_TOKEN"'
    assert "ANTHROPIC_AUTH_TOKEN" not in settings["env"] and "tok-secret-99" not in plan.after
    literal = plan_export("claude-code", None, env=with_token, router_url=URL, include_key=True)
    assert json.loads(literal.after)["env"]["ANTHROPIC_AUTH_TOKEN"] == "tok-secret-99"
    assert literal.mode == 0o600 and "tok-secret-99" not in literal.diff


def test_only_the_router_and_only_json(tmp_path: Path, env: dict[str, str]) -> None:
    groq = Endpoint(
        id="groq",
        name="Groq",
        base_url="https://api.groq.com/openai/v1",
        model="openai/gpt-oss-120b",
    )
    with pytest.raises(ExportError, match="only the router translates"):
        plan_export("claude-code", groq, config=tmp_path / "s.json", env=env)
    broken = tmp_path / "broken.json"
    broken.write_text('{"env": {,}}\n')
    with pytest.raises(ExportError, match="fix the file, nothing was changed"):
        plan_export("claude-code", None, config=broken, env=env, router_url=URL)
    assert default_config_path("claude-code", {"CLAUDE_CONFIG_DIR": "/x"}) == Path(
        "/x/settings.json"
    )


def test_codex_takes_the_router(tmp_path: Path, env: dict[str, str]) -> None:
    """Codex speaks Responses, which the router serves for every endpoint behind it."""
    plan = plan_export("codex", None, config=tmp_path / "config.toml", env=env, router_url=URL)
    assert f'base_url = "{URL}"' in plan.after and 'wire_api = "responses"' in plan.after
