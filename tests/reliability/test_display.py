"""Class: nothing from a provider is interpreted by our terminal or our markup. Rich markup
and terminal escapes in provider text are shown as plain text (markup escaped, control
characters made visible) in the probe table, the live log, rank, the dashboard and alerts."""

from __future__ import annotations

import os
import shlex
import signal
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable

from monitor.catalog import Catalog, Endpoint
from monitor.cli import main
from monitor.core.format import markup, printable
from monitor.core.models import ErrorKind
from monitor.sim.fleet import FLEET_KEY_ENV
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.screens.endpoint import EndpointScreen
from tests.helpers import FLEET_KEY, json_lines, result, sim
from tests.reliability.conftest import Spawn, wait_until
from tests.reliability.wire import Start, error_body, raw
from tests.tui.conftest import table_of, wait_for

# Closing tags that were never opened, a link, a style, clear-screen, an OSC window title,
# a bell, a C1 CSI and a bidi override: each would act if printed or parsed as markup.
HOSTILE = (
    "[/bold] [link=https://evil.test]click[/link] [red]red[/] \x1b[2J\x1b]0;pwned\x07 "
    "\x9b31m \u202eevil"
)
SHOWN = "[/bold] [link=https://evil.test]click[/link] [red]red[/] ␛[2J␛]0;pwned␇ \\u009b31m"


def assert_plain(text: str) -> None:
    assert SHOWN in " ".join(text.split()), text
    assert not any(c in text for c in "\x1b\x07\x9b\u202e")


def test_the_sanitiser() -> None:
    assert printable(HOSTILE).startswith(SHOWN)
    from rich.text import Text

    assert Text.from_markup(markup(HOSTILE)).plain == printable(HOSTILE)


@pytest.fixture
def hostile_fleet(run_fleet: Start, monkeypatch: pytest.MonkeyPatch) -> Path:
    _, path = run_fleet(raw("hostile", error_body(HOSTILE), status=503), sim("healthy"))
    monkeypatch.setenv(FLEET_KEY_ENV, FLEET_KEY)
    return path


def test_probe_table_rank_and_alerts(
    hostile_fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--providers", str(hostile_fleet), "--db", f"sqlite:///{tmp_path / 'd.db'}"]
    said = tmp_path / "alert.txt"
    hook = f"{sys.executable} -c " + shlex.quote(
        "import os, sys; open(sys.argv[1], 'w').write(os.environ['OSS_MONITOR_MESSAGE'])"
    )
    alerting = ["--alert-command", f"{hook} {said}", "--down-after", "1"]
    assert main(["probe", "--once", *alerting, *common]) == 0
    table = capsys.readouterr()
    assert main(["rank", "--window", "1h", *common]) == 0
    rank = capsys.readouterr()
    for shown in (table.out, rank.out, table.err):  # the table, the ranking, the alert line
        assert_plain(shown)
    assert_plain(said.read_text())  # what the alert command was given


def test_the_live_log(hostile_fleet: Path, spawn: Spawn, tmp_path: Path) -> None:
    run = spawn("probe", "--interval", "60", "--providers", str(hostile_fleet),
                "--db", f"sqlite:///{tmp_path / 'live.db'}")  # fmt: skip
    wait_until(lambda: "pwned" in run.stdout(), 30, "the hostile probe in the live log")
    run.process.send_signal(signal.SIGINT)
    assert run.wait() == 130, run.stderr()
    assert_plain(run.stdout())
    assert "Traceback" not in run.stderr()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_dashboard(store: Store) -> None:
    # Stored as an older version (or another process) may have stored it: not sanitised yet.
    store.add([result("hostile", ok=False, error=ErrorKind.SERVER, message=HOSTILE)] * 3)
    hostile = Endpoint(id="hostile", name="Hostile", base_url="https://h.test/v1", model="m")
    app = MonitorApp(Catalog(providers=[hostile]), store, dict(os.environ), probing=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: table_of(app).row_count == 1)
        why = str(app.screen.query_one("#why").render())
        assert_plain(why)
        await pilot.press("enter")
        assert isinstance(app.screen, EndpointScreen)
        probes = app.screen.query_one("#probes", DataTable)
        await wait_for(pilot, lambda: probes.row_count == 3)
        cell = probes.get_row_at(0)[-1]
        assert_plain(getattr(cell, "plain", str(cell)))
        assert isinstance(app.screen, EndpointScreen)  # still up: nothing crashed
        await pilot.press("escape")


def test_json_output_keeps_the_text_exact(
    hostile_fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json is for programs: escapes are JSON's own, no terminal sees raw bytes."""
    common = ["--providers", str(hostile_fleet), "--db", f"sqlite:///{tmp_path / 'j.db'}"]
    assert main(["probe", "--once", "--json", *common]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    rows = {r["id"]: r for r in json_lines(out)}
    assert "[/bold]" in rows["hostile"]["message"] and "␛[2J" in rows["hostile"]["message"]
