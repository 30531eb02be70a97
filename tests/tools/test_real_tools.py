"""Each real tool, exported into a scratch HOME, answers a one-line prompt from the fleet: once
with an endpoint, once through the router where the tool speaks chat completions.

Offline and quiet switches for each tool come from their docs and source (README, "Tested in
the real tools"); a tool that reaches for the network anyway fails here rather than hanging.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.helpers import FLEET_KEY
from tests.tools.conftest import ENDPOINT, PROMPT, Answered, Fleet, Home, Run, binary

OPENCODE_QUIET = {
    f"{prefix}_{switch}": "1"
    for prefix in ("OPENCODE", "KILO")
    for switch in (
        "DISABLE_AUTOUPDATE",
        "DISABLE_MODELS_FETCH",
        "DISABLE_SHARE",
        "DISABLE_LSP_DOWNLOAD",
        "DISABLE_DEFAULT_PLUGINS",
    )
} | {"KILO_TELEMETRY_LEVEL": "off"}
CONTINUE_QUIET = {"CONTINUE_METRICS_ENABLED": "0", "CONTINUE_CLI_ENABLE_TELEMETRY": "0"}
AIDER_FLAGS = [
    "--yes",
    "--no-git",
    "--no-check-update",
    "--no-show-release-notes",
    "--analytics-disable",
    "--no-auto-commits",
    "--no-pretty",
    "--no-stream",
]
# Qwen Code's system settings file loads last: telemetry, usage statistics and updates off.
QWEN_QUIET = {
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False},
}


def opencode(home: Home, tool: str) -> Run:
    return home.run([binary(tool), "run", PROMPT], **OPENCODE_QUIET)


def continue_cli(home: Home, tool: str) -> Run:
    return home.run([binary("continue"), "-p", PROMPT], **CONTINUE_QUIET)


def aider(home: Home, tool: str) -> Run:
    # LITELLM_LOCAL_MODEL_COST_MAP: litellm would fetch its price list from the network.
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": FLEET_KEY}
    return home.run([binary("aider"), *AIDER_FLAGS, "--message", PROMPT], **env)


def qwen(home: Home, tool: str) -> Run:
    quiet = home.path / "qwen-system-settings.json"
    quiet.write_text(json.dumps(QWEN_QUIET))
    env = {"QWEN_CODE_SYSTEM_SETTINGS_PATH": str(quiet), "OSS_MONITOR_API_KEY": "unused"}
    return home.run([binary("qwen"), "-p", PROMPT], **env)


def codex(home: Home, tool: str) -> Run:
    flags = ["-c", "check_for_update_on_startup=false", "-c", "analytics.enabled=false"]
    return home.run([binary("codex"), "exec", "--skip-git-repo-check", *flags, PROMPT])


RUNS: dict[str, Callable[[Home, str], Run]] = {
    "opencode": opencode,
    "kilo": opencode,
    "continue": continue_cli,
    "aider": aider,
    "qwen": qwen,
    "codex": codex,
}
VIA_ROUTER = ["opencode", "kilo", "continue", "aider", "qwen"]  # Codex speaks Responses only


@pytest.mark.parametrize("tool", list(RUNS))
def test_an_exported_endpoint_answers_in_the_real_tool(
    tool: str, home: Home, fleet: Fleet, answered: Answered
) -> None:
    binary(tool)
    home.export(tool, "--endpoint", ENDPOINT)
    before = fleet.requests()
    run = RUNS[tool](home, tool)
    answered(run, before)
    assert "context window" not in run.output.lower(), run.output[-3000:]


@pytest.mark.parametrize("tool", VIA_ROUTER)
def test_the_router_answers_in_the_real_tool(
    tool: str, home: Home, fleet: Fleet, router_url: str, answered: Answered
) -> None:
    binary(tool)
    home.export(tool, "--via-router", router_url)
    before = fleet.requests()
    answered(RUNS[tool](home, tool), before)


@pytest.mark.parametrize("tool", ["opencode", "kilo"])
def test_the_tool_lists_the_exported_model(tool: str, home: Home) -> None:
    home.export(tool, "--endpoint", ENDPOINT)
    run = home.run([binary(tool), "models", "oss-monitor"], **OPENCODE_QUIET)
    assert run.returncode == 0 and "oss-monitor/openai/gpt-oss-120b" in run.output, run.output


def test_kilo_uses_our_model_although_a_later_file_sets_another(
    home: Home, fleet: Fleet, answered: Answered
) -> None:
    """Kilo loads opencode.json after kilo.jsonc: the export must land where Kilo reads last."""
    binary("kilo")
    folder = home.path / ".config" / "kilo"
    folder.mkdir(parents=True)
    (folder / "opencode.json").write_text('{\n  "model": "anthropic/claude-sonnet-4"\n}\n')
    home.export("kilo", "--endpoint", ENDPOINT)
    before = fleet.requests()
    answered(opencode(home, "kilo"), before)


def test_undo_after_kilo_rewrote_its_file_keeps_kilos_changes(
    home: Home, fleet: Fleet, answered: Answered
) -> None:
    """Kilo adds a `permission` block to the file on first start; undo removes only our entry."""
    binary("kilo")
    home.export("kilo", "--endpoint", ENDPOINT)
    before = fleet.requests()
    answered(opencode(home, "kilo"), before)
    config = home.path / ".config" / "kilo" / "kilo.jsonc"
    rewritten = json.loads(config.read_text())
    assert set(rewritten) > {"$schema", "provider", "model"}, rewritten  # Kilo added its keys
    message = home.export("kilo", "--undo")
    assert "kept" in message
    left = json.loads(config.read_text())
    assert "model" not in left and "oss-monitor" not in json.dumps(left)
    assert {k: v for k, v in rewritten.items() if k not in ("$schema", "provider", "model")} == left


def test_the_snippet_files_hold_no_key(home: Home) -> None:
    """What the real tools ran on keeps the key an env reference (never the literal key)."""
    for tool in RUNS:
        home.export(tool, "--endpoint", ENDPOINT)
    written = [p for p in home.path.rglob("*") if p.is_file() and "oss-monitor" not in p.parts]
    assert written and not [p for p in written if FLEET_KEY in p.read_text(errors="replace")]
