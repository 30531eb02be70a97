"""Commands that only read the store never create one: a wrong --db is one clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main


@pytest.mark.parametrize("argv", [["rank"], ["rank", "--json"], ["export", "opencode"]])
def test_a_reader_on_a_missing_store_says_so(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "probes.db"
    assert main([*argv, "--db", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no store at" in err and "probe --once" in err
    assert not missing.exists() and not missing.parent.exists()
