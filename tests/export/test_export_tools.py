"""Each tool writer on real-looking configs: missing, empty, with comments and other providers,
with our entry already, malformed, read-only, and behind a symlink."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.catalog import Endpoint, Price
from monitor.export import TOOLS, ExportError, apply_export, plan_export
from monitor.export.jsonc import parse
from tests.export.export_cases import CASES, FRESH

KEYLESS = ("codex", "goose", "zed")  # tools that read keys only from the environment (or keyring)

FIXTURES = Path(__file__).parent / "fixtures" / "export"
KEY = "gsk-test-0000000000"
GROQ = Endpoint(
    id="groq",
    name="Groq",
    base_url="https://api.groq.com/openai/v1",
    model="openai/gpt-oss-120b",
    api_key_env="GROQ_API_KEY",
    price=Price(input=0.15, output=0.6),
)
CEREBRAS = Endpoint(
    id="cerebras",
    name="Cerebras",
    base_url="https://api.cerebras.ai/v1",
    model="gpt-oss-120b",
    api_key_env="CEREBRAS_API_KEY",
    context=65536,
    max_output=16384,
)


def fresh(tool: str, config: Path) -> Any:
    """What a new file holds; Aider's names the metadata file beside the config."""
    return json.loads(json.dumps(FRESH[tool]).replace("@DIR@", str(config.parent)))


def golden(tool: str, config: Path) -> str:
    text = (FIXTURES / expected_name(CASES[tool][0])).read_text()
    return text.replace("@DIR@", str(config.resolve().parent))


# Claude Code takes only the router (tests/router/test_export_claude_code.py).
ENDPOINT_TOOLS = [t for t in TOOLS if t != "claude-code"]


def load(tool: str, text: str) -> Any:
    if tool in ("continue", "aider", "goose"):
        return yaml.safe_load(text)
    if tool == "codex":
        return tomllib.loads(text)
    node = parse(text)
    assert node is not None
    return node.value


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "GROQ_API_KEY": KEY, "CEREBRAS_API_KEY": "csk-x"}


def copy_fixture(tool: str, tmp_path: Path) -> Path:
    name = CASES[tool][0]
    path = tmp_path / name
    path.write_bytes((FIXTURES / name).read_bytes())
    return path


def expected_name(name: str) -> str:
    stem, _, ext = name.partition(".")
    return f"{stem}.expected.{ext}"


def test_tools_are_in_the_issue_order() -> None:
    assert list(TOOLS) == [
        "opencode", "kilo", "kilo-legacy", "crush", "continue", "aider", "codex", "qwen",
        "claude-code", "goose", "zed", "roo",
    ]  # fmt: skip


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_missing_file_gets_exactly_our_structure(
    tool: str, tmp_path: Path, env: dict[str, str]
) -> None:
    path = tmp_path / "sub" / "config"
    plan = plan_export(tool, GROQ, config=path, env=env)
    assert plan.before is None and plan.changed
    assert load(tool, plan.after) == fresh(tool, path)
    result = apply_export(plan, env=env)
    assert path.read_text() == plan.after
    assert result.backup is None
    assert path.stat().st_mode & 0o777 == 0o644
    assert KEY not in path.read_text()


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_empty_file_is_filled(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "config"
    path.write_text("\n")
    plan = plan_export(tool, GROQ, config=path, env=env)
    assert load(tool, plan.after) == fresh(tool, path)


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_existing_config_keeps_every_other_byte(
    tool: str, tmp_path: Path, env: dict[str, str]
) -> None:
    path = copy_fixture(tool, tmp_path)
    plan = plan_export(tool, GROQ, config=path, env=env)
    # The golden file was reviewed by hand: comments, trailing commas, other providers intact.
    assert plan.after == golden(tool, path)
    assert plan.diff.startswith(f"--- {path}\n+++ {path}\n")
    result = apply_export(plan, env=env)
    assert result.changed and result.backup is not None
    assert result.backup.read_bytes() == (FIXTURES / CASES[tool][0]).read_bytes()
    assert str(path) in result.message and str(result.backup) in result.message


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_second_export_changes_nothing(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = copy_fixture(tool, tmp_path)
    apply_export(plan_export(tool, GROQ, config=path, env=env), env=env)
    written = path.read_bytes()
    again = plan_export(tool, GROQ, config=path, env=env)
    assert not again.changed and again.diff == "" and again.after == again.before
    result = apply_export(again, env=env)
    assert not result.changed and result.backup is None
    assert path.read_bytes() == written


@pytest.mark.parametrize("tool", [t for t in ENDPOINT_TOOLS if t not in ("codex", "goose")])
def test_other_endpoint_replaces_our_entry(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = copy_fixture(tool, tmp_path)
    apply_export(plan_export(tool, GROQ, config=path, env=env), env=env)
    plan = plan_export(tool, CEREBRAS, config=path, env=env)
    assert plan.changed
    assert "groq.com" not in plan.after and "api.cerebras.ai" in plan.after
    assert plan.after.count("oss-monitor: ") <= 1  # one entry of ours, replaced


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_malformed_file_is_left_alone(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    _, text, line = CASES[tool]
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(ExportError) as info:
        plan_export(tool, GROQ, config=path, env=env)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert str(info.value).endswith("; fix the file, nothing was changed")
    assert path.read_text() == text


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_read_only_file_is_refused(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = copy_fixture(tool, tmp_path)
    path.chmod(0o444)
    with pytest.raises(ExportError, match="is read-only; make it writable"):
        plan_export(tool, GROQ, config=path, env=env)
    assert path.read_bytes() == (FIXTURES / CASES[tool][0]).read_bytes()
    assert path.stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize("tool", ENDPOINT_TOOLS)
def test_symlinked_config_stays_a_link(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    real = copy_fixture(tool, tmp_path)
    link = tmp_path / "dotfiles-link"
    link.symlink_to(real)
    result = apply_export(plan_export(tool, GROQ, config=link, env=env), env=env)
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text() == golden(tool, real)
    assert result.backup is not None and result.backup.parent == real.parent


@pytest.mark.parametrize("tool", [t for t in ENDPOINT_TOOLS if t not in KEYLESS])
def test_include_key_writes_it_with_mode_600(
    tool: str, tmp_path: Path, env: dict[str, str]
) -> None:
    path = copy_fixture(tool, tmp_path)
    path.chmod(0o644)
    plan = plan_export(tool, GROQ, config=path, env=env, include_key=True)
    assert plan.mode == 0o600 and KEY in plan.after
    assert KEY not in plan.diff and "***" in plan.diff
    apply_export(plan, env=env)
    assert path.stat().st_mode & 0o777 == 0o600
    assert KEY in path.read_text()


@pytest.mark.parametrize("tool", KEYLESS)
def test_keyless_tools_never_write_a_key(tool: str, tmp_path: Path, env: dict[str, str]) -> None:
    plan = plan_export(tool, GROQ, config=tmp_path / "c", env=env, include_key=True)
    assert KEY not in plan.after and plan.mode == 0o644
    assert all(KEY not in text for text in plan.companions.values())
    assert any("only from the environment" in n for n in plan.notes)


def test_codex_refuses_an_endpoint_without_responses_api(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with pytest.raises(ExportError, match="Codex needs the Responses API, which cerebras"):
        plan_export("codex", CEREBRAS, config=tmp_path / "c.toml", env=env)


def test_kilo_legacy_explains_the_empty_key(tmp_path: Path, env: dict[str, str]) -> None:
    plan = plan_export("kilo-legacy", GROQ, config=tmp_path / "k.json", env=env)
    assert (
        json.loads(plan.after)["providerProfiles"]["apiConfigs"]["oss-monitor"]["openAiApiKey"]
        == ""
    )
    assert any("--include-key" in n for n in plan.notes)
    assert any("Settings > About > Import" in n for n in plan.notes)


def test_include_key_without_the_key_set_is_refused(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    with pytest.raises(ExportError, match="GROQ_API_KEY is not set"):
        plan_export("opencode", GROQ, config=tmp_path / "o.json", env=env, include_key=True)


def test_default_paths_follow_xdg_and_existing_files(tmp_path: Path) -> None:
    from monitor.export import default_config_path

    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert default_config_path("opencode", env) == tmp_path / "xdg/opencode/opencode.json"
    (tmp_path / "xdg/opencode").mkdir(parents=True)
    (tmp_path / "xdg/opencode/config.json").write_text("{}")
    assert default_config_path("opencode", env) == tmp_path / "xdg/opencode/config.json"
    assert default_config_path("kilo", env) == tmp_path / "xdg/kilo/kilo.jsonc"
    assert default_config_path("crush", env) == tmp_path / "xdg/crush/crush.json"
    assert default_config_path("continue", env) == tmp_path / ".continue/config.yaml"
    assert default_config_path("aider", env) == tmp_path / ".aider.conf.yml"
    assert default_config_path("codex", env) == tmp_path / ".codex/config.toml"


@pytest.mark.parametrize("tool", ["opencode", "kilo"])
def test_via_router_writes_the_router_url(tmp_path: Path, env: dict[str, str], tool: str) -> None:
    url = "http://127.0.0.1:8765/v1"
    plan = plan_export(tool, None, config=tmp_path / "c.json", env=env, router_url=url)
    doc = json.loads(plan.after)
    entry = doc["provider"]["oss-monitor"]
    assert entry["options"] == {"baseURL": url}  # no key: the router holds the keys
    assert doc["model"] == "oss-monitor/gpt-oss-120b" and "gpt-oss-120b" in entry["models"]
    assert any("oss-monitor router" in n for n in plan.notes)
    with_token = plan_export(tool, None, config=tmp_path / "c.json", env={**env,
        "OSS_MONITOR_ROUTER_TOKEN": "tok-secret-123"}, router_url=url)  # fmt: skip
    options = json.loads(with_token.after)["provider"]["oss-monitor"]["options"]
    assert options["apiKey"] == "{env:OSS_MONITOR_ROUTER_TOKEN}"
    assert "tok-secret-123" not in with_token.after


@pytest.mark.parametrize("tool", ["roo", "kilo-legacy"])
def test_via_router_writes_the_router_into_import_files(
    tmp_path: Path, env: dict[str, str], tool: str
) -> None:
    url = "http://127.0.0.1:8765/v1"
    token = {**env, "OSS_MONITOR_ROUTER_TOKEN": "tok-secret-123"}
    plan = plan_export(tool, None, config=tmp_path / "c.json", env=token, router_url=url)
    profile = json.loads(plan.after)["providerProfiles"]["apiConfigs"]["oss-monitor"]
    assert profile["openAiBaseUrl"] == url and profile["openAiApiKey"] == ""
    assert any("OSS_MONITOR_ROUTER_TOKEN" in n for n in plan.notes)
    with_key = plan_export(
        tool, None, config=tmp_path / "c.json", env=token, router_url=url, include_key=True
    )
    assert (
        json.loads(with_key.after)["providerProfiles"]["apiConfigs"]["oss-monitor"]["openAiApiKey"]
        == "tok-secret-123"
    )


def test_via_router_refuses_bad_urls(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ExportError, match="not an http"):
        plan_export("opencode", None, config=tmp_path / "o.json", env=env, router_url="127.0.0.1")
