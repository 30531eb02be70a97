"""Backups, atomic writes, modes and undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.export import (
    ExportError,
    apply_export,
    describe,
    last_export,
    plan_export,
    undo_export,
)
from monitor.export.files import record_path
from tests.export.test_export_tools import CEREBRAS, GROQ, KEY


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "GROQ_API_KEY": KEY, "CEREBRAS_API_KEY": "csk-x"}


def test_undo_restores_the_file_before_our_last_export(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "opencode.jsonc"
    original = '{\n  // mine\n  "theme": "dark",\n}\n'
    path.write_text(original)
    path.chmod(0o640)
    first = apply_export(plan_export("opencode", GROQ, config=path, env=env), env=env)
    assert first.backup is not None and first.backup.stat().st_mode & 0o777 == 0o640
    assert path.stat().st_mode & 0o777 == 0o640  # mode kept
    after_groq = path.read_text()
    apply_export(plan_export("opencode", CEREBRAS, config=path, env=env), env=env)
    undone = undo_export("opencode", config=path, env=env)
    assert path.read_text() == after_groq
    assert "Restored" in undone.message and str(path) in undone.message
    with pytest.raises(ExportError, match="no export to OpenCode to undo"):
        undo_export("opencode", env=env)


def test_undo_deletes_a_file_we_created(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "new" / "crush.json"
    apply_export(plan_export("crush", GROQ, config=path, env=env), env=env)
    result = undo_export("crush", env=env)
    assert not path.exists() and result.backup is None
    assert "Deleted" in result.message


def test_undo_refuses_when_our_own_entry_was_edited_since(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = tmp_path / "c.toml"
    apply_export(plan_export("codex", GROQ, config=path, env=env), env=env)
    edited = path.read_text().replace("api.groq.com", "my-proxy.example") + "# mine\n"
    path.write_text(edited)
    with pytest.raises(ExportError, match="changed after our export, also where our export"):
        undo_export("codex", env=env)
    assert path.read_text() == edited


# What each tool's file looks like after the tool (or its user) changed keys outside our entry.
THEIRS = {
    "kilo": (
        "kilo.jsonc",
        lambda t: t.rstrip()[:-1].rstrip() + ',\n  "permission": {"bash": "allow"}\n}\n',
    ),
    "continue": ("config.yaml", lambda t: t + "rules:\n  - Be brief.\n"),
    "codex": ("config.toml", lambda t: 'approval_policy = "never"\n' + t),
    "aider": (".aider.conf.yml", lambda t: t + "dark-mode: true\n"),
    # Crush records the models picked in its menu; Zed and Goose users change their settings.
    "crush": ("crush.json", lambda t: t.rstrip()[:-1].rstrip() + ',\n  "recent_models": {}\n}\n'),
    "zed": ("settings.json", lambda t: t.rstrip()[:-1].rstrip() + ',\n  "theme": "One Dark"\n}\n'),
    "goose": ("config.yaml", lambda t: t + "GOOSE_MODE: auto\n"),
}


@pytest.mark.parametrize("tool", list(THEIRS))
def test_undo_after_the_tool_changed_other_keys_keeps_them(
    tool: str, tmp_path: Path, env: dict[str, str]
) -> None:
    """A three-way undo: our entry goes, their change stays, and the message says so."""
    name, change = THEIRS[tool]
    path = tmp_path / name
    apply_export(plan_export(tool, GROQ, config=path, env=env), env=env)
    path.write_text(change(path.read_text()))
    changed = path.read_text()
    result = undo_export(tool, env=env)
    assert "removed our entry and kept those changes" in result.message
    assert result.backup is not None and result.backup.read_text() == changed
    left = path.read_text()
    assert "oss-monitor" not in left and "groq" not in left
    assert ("permission" in left) if tool == "kilo" else True
    assert ("Be brief" in left) if tool == "continue" else True
    assert ('approval_policy = "never"' in left) if tool == "codex" else True
    assert ("dark-mode: true" in left) if tool == "aider" else True
    assert ("recent_models" in left) if tool == "crush" else True
    assert ("One Dark" in left) if tool == "zed" else True
    assert ("GOOSE_MODE: auto" in left) if tool == "goose" else True


def test_three_way_undo_restores_our_keys_previous_values(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = tmp_path / "opencode.jsonc"
    path.write_text('{\n  // mine\n  "model": "anthropic/claude",\n  "theme": "dark"\n}\n')
    apply_export(plan_export("opencode", GROQ, config=path, env=env), env=env)
    path.write_text(path.read_text().replace('"dark"', '"light"'))
    undo_export("opencode", env=env)
    assert path.read_text() == (
        '{\n  // mine\n  "model": "anthropic/claude",\n  "theme": "light"\n}\n'
    )


def test_apply_refuses_a_stale_plan(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / ".aider.conf.yml"
    path.write_text("model: sonnet\n")
    plan = plan_export("aider", GROQ, config=path, env=env)
    path.write_text("model: opus\n")
    with pytest.raises(ExportError, match="changed since the export was planned"):
        apply_export(plan, env=env)
    assert path.read_text() == "model: opus\n"


def test_write_leaves_no_temp_files_and_records_undo(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "opencode.json"
    path.write_text("{}\n")
    apply_export(plan_export("opencode", GROQ, config=path, env=env), env=env)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != "home")
    assert len(names) == 2 and names[0] == "opencode.json"
    assert names[1].startswith("opencode.json.") and names[1].endswith(".oss-monitor.bak")
    assert record_path(path, env).stat().st_mode & 0o777 == 0o600


def test_a_key_already_in_the_file_forces_mode_600(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "opencode.json"
    path.write_text(f'{{"provider": {{"groq": {{"options": {{"apiKey": "{KEY}"}}}}}}}}\n')
    path.chmod(0o644)
    plan = plan_export("opencode", GROQ, config=path, env=env)
    assert plan.mode == 0o600 and KEY not in plan.diff


def test_a_folder_or_binary_file_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ExportError, match="is a folder"):
        plan_export("opencode", GROQ, config=tmp_path, env=env)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe{")
    with pytest.raises(ExportError, match=r"bin.json:1: the file is not UTF-8"):
        plan_export("opencode", GROQ, config=binary, env=env)


def test_undo_is_per_file_and_says_what_it_undoes(tmp_path: Path, env: dict[str, str]) -> None:
    """OpenCode and Kilo Code can share a file: undo follows the file, not the tool."""
    path = tmp_path / "opencode.json"
    path.write_text("{}\n")
    apply_export(plan_export("opencode", GROQ, config=path, env=env), env=env)
    after_opencode = path.read_text()
    apply_export(plan_export("kilo", CEREBRAS, config=path, env=env), env=env)
    last = last_export(env)
    assert last is not None and last.path == str(path.resolve())
    assert describe(last).startswith("undo the export of cerebras to Kilo Code at ")
    assert f"restore {path.resolve()} from " in describe(last)
    undo_export("opencode", config=path, env=env)  # the file's last export: Kilo's
    assert path.read_text() == after_opencode
    assert last_export(env) is None
