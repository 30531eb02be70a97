"""`oss-monitor export --list`: every target, its file, whether the tool is installed here."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.cli.args import UsageError
from monitor.cli.commands import export as export_command
from monitor.export import TOOLS
from monitor.export.listing import found, targets


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path


def env_for(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": str(home / "bin")}


def install(home: Path, program: str) -> Path:
    path = home / "bin" / program
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_every_target_is_listed_with_its_file_and_router_support(home: Path) -> None:
    listed = targets(env_for(home))
    assert [t.tool for t in listed] == list(TOOLS)
    by_tool = {t.tool: t for t in listed}
    assert by_tool["crush"].path == home / ".config" / "crush" / "crush.json"
    assert by_tool["zed"].path == home / ".config" / "zed" / "settings.json"
    assert by_tool["goose"].path == home / ".config" / "goose" / "config.yaml"
    assert by_tool["codex"].router_api == "Responses"
    assert by_tool["claude-code"].router_api == "Messages"
    assert by_tool["roo"].router_api == by_tool["opencode"].router_api == "chat completions"
    assert all(t.found is None for t in listed)  # an empty PATH and HOME: nothing installed


def test_tools_are_found_on_path_and_as_extensions(home: Path) -> None:
    env = env_for(home)
    crush = install(home, "crush")
    (home / "bin" / "cn").write_text("not executable")
    assert found("crush", env) == str(crush)
    assert found("continue", env) is None  # a file that cannot run is not the tool
    extensions = home / ".vscode" / "extensions"
    (extensions / "rooveterinaryinc.roo-cline-3.30.0").mkdir(parents=True)
    (extensions / "rooveterinaryinc.roo-cline-3.31.1").mkdir()
    assert found("roo", env) == str(extensions / "rooveterinaryinc.roo-cline-3.31.1")
    assert found("kilo-legacy", env) is None
    install(home, "zeditor")  # the name distributions give Zed
    assert found("zed", env) == str(home / "bin" / "zeditor")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oss-monitor")
    export_command.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_the_list_command_prints_a_table(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in env_for(home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    install(home, "goose")
    assert export_command.run(parser().parse_args(["export", "--list"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TOOL", "WRITES", "INSTALLED", "HERE", "API", "VIA", "ROUTER"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == list(TOOLS)
    assert rows["goose"] == ["goose", str(home / ".config/goose/config.yaml"),
                             str(home / "bin/goose"), "chat", "completions"]  # fmt: skip
    assert rows["roo"][-4:] == ["not", "found", "chat", "completions"]
    assert rows["codex"][-1] == "Responses"


def test_list_and_tool_usage_errors() -> None:
    with pytest.raises(UsageError, match="--list takes no TOOL"):
        export_command.run(parser().parse_args(["export", "--list", "opencode"]))
    with pytest.raises(UsageError, match="name a TOOL"):
        export_command.run(parser().parse_args(["export"]))
    with pytest.raises(UsageError, match="Gemini CLI speaks only Google's Gemini API"):
        export_command.run(parser().parse_args(["export", "gemini"]))
    with pytest.raises(UsageError, match="Cline keeps its settings in VS Code"):
        export_command.run(parser().parse_args(["export", "cline"]))
