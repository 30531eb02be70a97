"""Crush's schema and load order (with `crushrc`), Goose and Zed: the written files checked
against the tools' published schemas, since none of them installs from a registry here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from monitor.export import ExportError, apply_export, default_config_path, plan_export, undo_export
from monitor.export.jsonc import parse
from tests.export.test_export_tools import CEREBRAS, FIXTURES, GROQ, KEY

SCHEMAS = FIXTURES / "schemas"
ROUTER = "http://127.0.0.1:8765/v1"


def validate(document: Any, schema: str) -> None:
    jsonschema.validate(document, json.loads((SCHEMAS / schema).read_text()))


def jsonc(text: str) -> Any:
    node = parse(text)
    assert node is not None
    return node.value


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "GROQ_API_KEY": KEY, "CEREBRAS_API_KEY": "csk-x"}


# ---------------------------------------------------------------- Crush


@pytest.mark.parametrize("router", [False, True])
def test_crush_file_passes_crushs_schema(tmp_path: Path, env: dict[str, str], router: bool) -> None:
    path = tmp_path / "crush.json"
    plan = plan_export(
        "crush",
        None if router else GROQ,
        config=path,
        env=env,
        router_url=ROUTER if router else None,
    )
    validate(json.loads(plan.after), "crush.schema.json")
    golden = json.loads((FIXTURES / "crush.expected.json").read_text())
    ours = {"providers": {"oss-monitor": golden["providers"]["oss-monitor"]}}  # not the user's
    validate({**ours, "models": golden["models"]}, "crush.schema.json")
    broken = json.loads(plan.after)
    del broken["providers"]["oss-monitor"]["models"][0]["supports_attachments"]
    with pytest.raises(jsonschema.ValidationError, match="supports_attachments"):
        validate(broken, "crush.schema.json")  # the check can fail


def crush_dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / ".config" / "crush", tmp_path / ".local" / "share" / "crush"


def test_crush_writes_where_it_reads_last(tmp_path: Path, env: dict[str, str]) -> None:
    config, state = crush_dirs(tmp_path)
    assert default_config_path("crush", env) == config / "crush.json"
    config.mkdir(parents=True)
    (config / "crushrc").write_text("option progress false\n")
    assert default_config_path("crush", env) == config / "crushrc"  # crushrc wins over JSON
    state.mkdir(parents=True)
    (state / "crush.json").write_text('{"recent_models": {}}\n')
    assert default_config_path("crush", env) == config / "crushrc"  # no model picked there
    picked = '{"models": {"large": {"provider": "openai", "model": "gpt-5"}}}\n'
    (state / "crush.json").write_text(picked)
    assert default_config_path("crush", env) == state / "crush.json"  # Crush's menu choice
    moved = {**env, "CRUSH_GLOBAL_DATA": str(tmp_path / "d"), "CRUSH_GLOBAL_CONFIG": str(tmp_path)}
    assert default_config_path("crush", moved) == tmp_path / "crush.json"


def test_crush_state_file_is_edited_in_place(tmp_path: Path, env: dict[str, str]) -> None:
    _, state = crush_dirs(tmp_path)
    state.mkdir(parents=True)
    text = '{\n  "models": {"large": {"provider": "openai", "model": "gpt-5"}},\n'
    text += '  "recent_models": {}\n}\n'
    (state / "crush.json").write_text(text)
    (state / "crush.json").chmod(0o600)
    plan = plan_export("crush", GROQ, env=env)
    assert plan.path == state / "crush.json" and plan.mode == 0o600
    doc = json.loads(plan.after)
    assert doc["models"]["large"] == {"provider": "oss-monitor", "model": "openai/gpt-oss-120b"}
    assert doc["recent_models"] == {} and not [n for n in plan.notes if "loads after" in n]


def test_crush_warns_naming_the_file_that_overrides_ours(
    tmp_path: Path, env: dict[str, str]
) -> None:
    config, state = crush_dirs(tmp_path)
    state.mkdir(parents=True)
    (state / "crush.json").write_text('{"models": {"large": {"provider": "x", "model": "y"}}}')
    config.mkdir(parents=True)
    (config / "crushrc").write_text("model large openai/gpt-5\n")
    plan = plan_export("crush", GROQ, config=config / "crush.json", env=env)
    warnings = [n for n in plan.notes if "loads after" in n]
    assert len(warnings) == 2
    assert f"export with --config {config / 'crushrc'} instead" in warnings[0]
    assert warnings[1].startswith(f"{state / 'crush.json'} loads after {config / 'crush.json'}")


def run_crushrc(text: str, tmp_path: Path, **env: str) -> list[list[str]]:
    """Source the file in Bash with Crush's commands stubbed: the argv each one received."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    rc = tmp_path / "run-crushrc"
    rc.write_text(text)
    stubs = [f'{name}() {{ printf "%s\\0" {name} "$@"; echo; }}' for name in ("provider", "model")]
    script = "\n".join([*stubs, "option() { :; }", f'source "{rc}"', ""])
    done = subprocess.run(
        [bash, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=10
    )
    return [line.strip("\0").split("\0") for line in done.stdout.splitlines() if line]


def test_crushrc_gets_a_block_that_bash_runs(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "crushrc"
    mine = "# my crush config\noption progress false\nmodel large openai/gpt-5\n"
    path.write_text(mine)
    plan = plan_export("crush", GROQ, config=path, env=env)
    assert plan.after.startswith(mine)  # the user's script stays as it was, ours follows it
    calls = run_crushrc(plan.after, tmp_path, GROQ_API_KEY=KEY)
    assert calls[0] == ["model", "large", "openai/gpt-5"]
    assert calls[1] == [
        "provider", "add", "oss-monitor", "--type", "openai-compat", "--name",
        "oss-monitor: Groq", "--base-url", "https://api.groq.com/openai/v1", "--api-key", KEY,
    ]  # fmt: skip
    assert calls[2][:3] == ["model", "add", "oss-monitor/openai/gpt-oss-120b"]
    assert "--price-cache-hit" in calls[2] and calls[2][calls[2].index("--context-window") + 1] == (
        "131072"
    )
    assert calls[3] == ["model", "large", "oss-monitor/openai/gpt-oss-120b"]  # last: it wins
    assert KEY not in plan.after and '"$GROQ_API_KEY"' in plan.after
    apply_export(plan, env=env)
    assert not plan_export("crush", GROQ, config=path, env=env).changed
    again = plan_export("crush", CEREBRAS, config=path, env=env).after
    assert again.count("# >>> oss-monitor >>>") == 1 and "api.cerebras.ai" in again


def test_crushrc_include_key_is_quoted_and_private(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "crushrc"
    plan = plan_export("crush", GROQ, config=path, env=env, include_key=True)
    assert plan.mode == 0o600 and KEY not in plan.diff
    assert run_crushrc(plan.after, tmp_path)[0][-1] == KEY


def test_crushrc_with_unpaired_markers_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "crushrc"
    text = "option progress false\n# >>> oss-monitor >>> (mine)\nprovider add x\n"
    path.write_text(text)
    with pytest.raises(ExportError, match=r"crushrc:2: the oss-monitor block's marker lines"):
        plan_export("crush", GROQ, config=path, env=env)
    assert path.read_text() == text


def test_crushrc_undo_keeps_lines_added_since(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "crushrc"
    path.write_text("option progress false\n")
    apply_export(plan_export("crush", GROQ, config=path, env=env), env=env)
    path.write_text(path.read_text() + "permissions allow view\n")
    result = undo_export("crush", env=env)
    assert "kept those changes" in result.message
    assert path.read_text() == "option progress false\npermissions allow view\n"


# ---------------------------------------------------------------- Goose


def test_goose_provider_file_passes_its_schema(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "goose" / "config.yaml"
    plan = plan_export("goose", CEREBRAS, config=config, env=env)
    provider = tmp_path / "goose" / "custom_providers" / "custom_oss_monitor.json"
    entry = json.loads(plan.companions[provider])
    validate(entry, "goose-provider.schema.json")
    assert entry["base_url"] == "https://api.cerebras.ai/v1" and entry["api_key_env"] == (
        "CEREBRAS_API_KEY"
    )
    assert entry["models"] == [{"name": "gpt-oss-120b", "context_limit": 65536}]
    apply_export(plan, env=env)
    assert yaml.safe_load(config.read_text())["GOOSE_PROVIDER"] == entry["name"]
    routed = plan_export("goose", None, config=config, env=env, router_url=ROUTER)
    keyless = json.loads(routed.companions[provider])
    validate(keyless, "goose-provider.schema.json")
    assert keyless["requires_auth"] is False and keyless["base_url"] == ROUTER


def test_goose_follows_path_root_and_warns_about_env(tmp_path: Path, env: dict[str, str]) -> None:
    rooted = {**env, "GOOSE_PATH_ROOT": str(tmp_path / "g"), "GOOSE_MODEL": "gpt-4o"}
    assert default_config_path("goose", env) == tmp_path / ".config" / "goose" / "config.yaml"
    assert default_config_path("goose", rooted) == tmp_path / "g" / "config" / "config.yaml"
    plan = plan_export("goose", GROQ, env=rooted)
    assert any(n.startswith("GOOSE_MODEL is set in your environment") for n in plan.notes)


# ---------------------------------------------------------------- Zed


@pytest.mark.parametrize("router", [False, True])
def test_zed_settings_pass_zeds_schema(tmp_path: Path, env: dict[str, str], router: bool) -> None:
    path = tmp_path / "settings.json"
    path.write_text((FIXTURES / "zed.json").read_text())
    plan = plan_export(
        "zed", None if router else GROQ, config=path, env=env, router_url=ROUTER if router else None
    )
    doc = jsonc(plan.after)
    validate(doc, "zed-language-models.schema.json")
    assert set(doc["language_models"]["openai_compatible"]) == {"Together", "oss-monitor"}
    assert any("OSS_MONITOR_API_KEY" in n for n in plan.notes)
    doc["language_models"]["openai_compatible"]["oss-monitor"]["available_models"][0]["ctx"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "zed-language-models.schema.json")


def test_zed_default_path(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "x")}
    assert default_config_path("zed", env) == tmp_path / "x" / "zed" / "settings.json"
