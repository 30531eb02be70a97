"""`oss-monitor export` end to end: a tiny catalogue, a tmp store, the config of a tool."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli.commands import export as export_command
from monitor.core.models import ErrorKind, ProbeResult
from monitor.store import Store

CATALOGUE = """\
model: gpt-oss-120b
providers:
  - id: fast
    name: Fast Cloud
    base_url: https://fast.example/v1
    model: gpt-oss-120b
    api_key_env: FAST_KEY
  - id: broken
    name: Broken Cloud
    base_url: https://broken.example/v1
    model: gpt-oss-120b
    api_key_env: BROKEN_KEY
  - id: keyless-missing
    name: Needs A Key
    base_url: https://nokey.example/v1
    model: gpt-oss-120b
    api_key_env: UNSET_KEY_FOR_TEST
"""


def probe(endpoint_id: str, ok: bool, minutes_ago: int) -> ProbeResult:
    return ProbeResult(
        endpoint_id=endpoint_id,
        started_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        ok=ok,
        error=None if ok else ErrorKind.SERVER,
        status=200 if ok else 500,
        ttft_ms=150.0 if ok else None,
        total_ms=400.0 if ok else 20.0,
        output_tokens=32 if ok else None,
        tokens_per_s=200.0 if ok else None,
    )


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[argparse.ArgumentParser, Path]:
    providers = tmp_path / "providers.yaml"
    providers.write_text(CATALOGUE)
    db = f"sqlite:///{tmp_path / 'probes.db'}"
    store = Store(db)
    store.add([probe("fast", True, m) for m in (30, 20, 10)])
    store.add([probe("broken", True, 40)] + [probe("broken", False, m) for m in (30, 20, 5)])
    store.close()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("UNSET_KEY_FOR_TEST", raising=False)
    monkeypatch.setenv("FAST_KEY", "fk-secret-1234567890")
    monkeypatch.setenv("BROKEN_KEY", "bk-secret-1234567890")
    parser = argparse.ArgumentParser(prog="oss-monitor")
    export_command.add_parser(parser.add_subparsers(dest="command"))
    parser.set_defaults(where=["--providers", str(providers), "--db", db])
    return parser, tmp_path


def run(parser: argparse.ArgumentParser, *argv: str) -> int:
    where = parser.get_default("where")
    return export_command.run(parser.parse_args(["export", *argv, *where]))


def test_best_endpoint_is_exported_and_undone(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, tmp = setup
    config = tmp / "opencode.json"
    assert run(parser, "opencode", "--config", str(config), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Exporting fast (Fast Cloud), best over 1h: 100.0% up" in out
    assert f"+++ {config}" in out and not config.exists()

    assert run(parser, "opencode", "--config", str(config)) == 0
    out = capsys.readouterr().out
    data = json.loads(config.read_text())
    assert data["model"] == "oss-monitor/gpt-oss-120b"
    assert data["provider"]["oss-monitor"]["options"]["apiKey"] == "{env:FAST_KEY}"
    assert "fk-secret" not in config.read_text() and "--undo" in out

    assert run(parser, "opencode", "--config", str(config)) == 0
    assert "already uses fast" not in capsys.readouterr().out  # applied, not a dry run
    assert run(parser, "opencode", "--undo", "--config", str(config)) == 0
    assert not config.exists() and "Deleted" in capsys.readouterr().out


def test_down_endpoint_is_refused_unless_forced(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, tmp = setup
    config = tmp / "crush.json"
    assert run(parser, "crush", "--endpoint", "broken", "--config", str(config)) == 1
    assert "broken cannot be used now (down" in capsys.readouterr().err
    assert not config.exists()
    assert run(parser, "crush", "--endpoint", "broken", "--config", str(config), "--force") == 0
    assert "broken.example" in config.read_text()


def test_endpoint_without_key_is_refused(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, tmp = setup
    code = run(parser, "aider", "--endpoint", "keyless-missing", "--config", str(tmp / "a.yml"))
    assert code == 1
    assert "no key: set UNSET_KEY_FOR_TEST" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["opencode", "--endpoint", "nope"], "no endpoint 'nope' in the catalogue"),
        (["codex", "--endpoint", "fast"], "Codex needs the Responses API"),
        (["opencode", "--undo"], "there is no export to "),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    setup: tuple[argparse.ArgumentParser, Path],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    parser, tmp = setup
    assert run(parser, *argv, "--config", str(tmp / "cfg")) == 2
    err = capsys.readouterr().err
    assert err.startswith("oss-monitor: ") and message in err and "Traceback" not in err


def test_a_nonsense_window_is_refused_while_parsing(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, _ = setup
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["export", "opencode", "--window", "soon"])
    assert exit_.value.code == 2
    assert "'soon' is not a duration; use a number and a unit" in capsys.readouterr().err


def test_malformed_config_exits_2_and_is_untouched(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, tmp = setup
    config = tmp / "opencode.jsonc"
    config.write_text('{\n  "model": \n}\n')
    assert run(parser, "opencode", "--config", str(config)) == 2
    assert f"{config}:3: " in capsys.readouterr().err
    assert config.read_text() == '{\n  "model": \n}\n'


def test_via_router_needs_no_ranking_and_exports_the_url(
    setup: tuple[argparse.ArgumentParser, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parser, tmp_path = setup
    config = tmp_path / "opencode.json"
    assert run(parser, "opencode", "--via-router", "--config", str(config)) == 0
    entry = json.loads(config.read_text())["provider"]["oss-monitor"]
    assert entry["options"] == {"baseURL": "http://127.0.0.1:8765/v1"}
    assert "Exporting the router at http://127.0.0.1:8765/v1" in capsys.readouterr().out
    other = tmp_path / "kilo.jsonc"
    assert run(parser, "kilo", "--via-router", "http://127.0.0.1:9000/v1", "--config",
               str(other)) == 0  # fmt: skip
    assert "http://127.0.0.1:9000/v1" in other.read_text()
    assert run(parser, "opencode", "--via-router", "--endpoint", "fast") == 2
    assert "exclude each other" in capsys.readouterr().err
    assert run(parser, "opencode", "--via-router", "nope", "--config", str(config)) == 2
    said = capsys.readouterr()
    assert "not an http(s) URL" in said.err and "Exporting" not in said.out
