"""`oss-monitor catalog check|sync` through monitor.cli.main: exit codes, files, undo."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from monitor.catalog import default_catalog_path
from monitor.cli import main
from monitor.export import last_export

FIXTURE = str(Path(__file__).parent / "fixtures" / "models_dev_api.json")
CATALOGUE = """\
# my catalogue (this comment stays)
providers:
  - id: openrouter
    name: OpenRouter
    base_url: https://openrouter.ai/api/v1
    model: openai/gpt-oss-120b
    api_key_env: OPENROUTER_API_KEY
    price: {input: 0.039, output: 0.19}  # from their page
  - id: groq
    name: Groq
    base_url: https://api.groq.com/openai/v1
    model: openai/gpt-oss-120b
    api_key_env: GROQ_API_KEY
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OSS_MONITOR_PROVIDERS", "OPENROUTER_API_KEY", "GROQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "providers.yaml"
    path.write_text(CATALOGUE)
    return path


def test_sync_shows_the_diff_writes_with_a_backup_and_undoes(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["catalog", "sync", "--from", FIXTURE, "--providers", str(home)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "~ openrouter price: $0.039/$0.19 per 1M -> $0.03/$0.15 per 1M" in out
    assert "+ crusoe: https://api.inference.crusoecloud.com/v1, openai/gpt-oss-120b" in out
    assert "+ venice: openai-gpt-oss-120b (no usable OpenAI-compatible URL)" in out
    assert "Nothing was written" in out
    assert home.read_text() == CATALOGUE

    assert main([*args, "--write"]) == 0
    written = home.read_text()
    assert "# my catalogue (this comment stays)" in written and "# from their page" in written
    assert "price: {input: 0.03, output: 0.15}" in written
    assert "- id: crusoe" in written
    [backup] = home.parent.glob("providers.yaml.*.oss-monitor.bak")
    assert backup.read_text() == CATALOGUE
    assert "--undo" in capsys.readouterr().out
    assert last_export() is None  # its undo record is kept with the exports', but is not one

    assert main(["catalog", "sync", "--undo"]) == 0
    assert home.read_text() == CATALOGUE
    assert main(["catalog", "sync", "--undo"]) == 2
    assert capsys.readouterr().err.strip() == "oss-monitor: there is no catalog sync to undo"


def test_sync_writes_the_user_catalogue_by_default(home: Path) -> None:
    assert main(["catalog", "sync", "--from", FIXTURE, "--write"]) == 0
    user = home.parent / "config" / "oss-monitor" / "providers.yaml"
    assert "# Your own oss-monitor catalogue" in user.read_text()
    assert main(["providers", "--check"]) == 0  # shipped + user file still load
    assert main(["catalog", "sync", "--undo"]) == 0
    assert not user.exists()


def test_undo_refuses_when_the_file_was_edited_since(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "sync", "--from", FIXTURE, "--providers", str(home), "--write"]) == 0
    home.write_text(home.read_text() + "# later edit\n")
    assert main(["catalog", "sync", "--undo"]) == 2
    assert "was changed after the sync" in capsys.readouterr().err
    assert home.read_text().endswith("# later edit\n")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--providers", str(default_catalog_path()), "--write"], "shipped with oss-monitor"),
        (["--from", "/nonexistent/api.json"], "cannot read /nonexistent/api.json"),
    ],
)
def test_sync_refusals_are_one_sentence(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    source = [] if "--from" in argv else ["--from", FIXTURE]
    assert main(["catalog", "sync", *source, *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


@respx.mock
def test_sync_reads_the_url_bounded(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    respx.get("https://models.example/api.json").mock(return_value=httpx.Response(503))
    assert main(["catalog", "sync", "--url", "https://models.example/api.json"]) == 2
    assert "answered HTTP 503" in capsys.readouterr().err


@respx.mock
def test_check_exit_codes_follow_probe(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = {"data": [{"id": "openai/gpt-oss-120b"}]}
    respx.get("https://openrouter.ai/api/v1/models").mock(
        return_value=httpx.Response(200, json=listed)
    )
    respx.get("https://api.groq.com/openai/v1/models").mock(return_value=httpx.Response(401))
    assert main(["catalog", "check", "--providers", str(home)]) == 0
    out = capsys.readouterr().out
    assert "openrouter" in out and "listed" in out and "set GROQ_API_KEY" in out
    assert main(["catalog", "check", "--providers", str(home), "--endpoint", "groq"]) == 1
    assert main(["catalog", "check", "--providers", str(home), "--endpoint", "nope"]) == 2
    assert "no endpoint 'nope'" in capsys.readouterr().err


@respx.mock
def test_the_last_check_is_kept_for_the_dashboard(home: Path, tmp_path: Path) -> None:
    from monitor.store import Store
    from monitor.upstream.catalog_check import RECORD, describe_record

    respx.get("https://openrouter.ai/api/v1/models").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "openai/gpt-oss-12b"}]})
    )
    db = tmp_path / "checks.db"
    argv = ["catalog", "check", "--providers", str(home), "--endpoint", "openrouter"]
    assert main([*argv, "--db", str(db)]) == 1
    kept = Store(str(db), create=False).remembered(RECORD)
    said = describe_record(kept["openrouter"])
    assert said is not None and said.startswith("missing on ") and " UTC: " in said
    assert describe_record("not json") is None and describe_record(None) is None
