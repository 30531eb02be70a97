"""Snapshots of the dashboard on fixed data and a fixed clock (pytest-textual-snapshot).

Update them after an intended change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable

from monitor.tui.app import MonitorApp
from tests.tui.conftest import loaded, wait_for

MakeApp = Callable[..., MonitorApp]
SnapCompare = Callable[..., bool]


def test_main_screen(make_app: MakeApp, snap_compare: SnapCompare) -> None:
    app = make_app()

    async def ready(pilot: Pilot[Any]) -> None:
        await loaded(pilot, app)

    assert snap_compare(app, terminal_size=(200, 50), run_before=ready)


def test_main_screen_narrow_light(make_app: MakeApp, snap_compare: SnapCompare) -> None:
    app = make_app()

    async def ready(pilot: Pilot[Any]) -> None:
        app.theme = "textual-light"
        await loaded(pilot, app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def on_detail(app: MonitorApp) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Open the selected endpoint's detail screen and wait for its probes."""

    async def ready(pilot: Pilot[Any]) -> None:
        await loaded(pilot, app)
        await pilot.press("enter")
        probes = app.screen.query_one("#probes", DataTable)
        await wait_for(pilot, lambda: probes.row_count == 11)

    return ready


def test_detail_screen(make_app: MakeApp, snap_compare: SnapCompare) -> None:
    app = make_app()
    assert snap_compare(app, terminal_size=(140, 50), run_before=on_detail(app))


def test_export_dialog_small(
    make_app: MakeApp, snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tui.test_dashboard import install_fake_export

    install_fake_export(Path(), monkeypatch)  # relative paths: the same picture every run
    app = make_app()

    async def ready(pilot: Pilot[Any]) -> None:
        await loaded(pilot, app)
        await pilot.press("e", "down")
        write = app.screen.query_one("#write", Button)
        await wait_for(pilot, lambda: not write.disabled)

    assert snap_compare(app, terminal_size=(60, 20), run_before=ready)


def test_detail_screen_80x24(make_app: MakeApp, snap_compare: SnapCompare) -> None:
    app = make_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=on_detail(app))
