"""Pilot tests of the dashboard on fixed data: keys pressed, table and screens read back."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import monitor
from monitor.tui.app import MonitorApp
from monitor.tui.screens.endpoint import EndpointScreen
from monitor.tui.screens.export import ExportModal
from monitor.tui.screens.ranking import RankingScreen
from monitor.tui.widgets.status_line import StatusLine
from tests.tui.conftest import cell, ids, loaded, notifications, table_of, wait_for

pytestmark = pytest.mark.anyio
MakeApp = Callable[..., MonitorApp]


def status(app: MonitorApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def test_ranking_best_first_with_badges_and_missing_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        assert ids(app)[:2] == ["fast-free", "steady-paid"]
        assert cell(app, "fast-free", "rank") == "1"
        assert cell(app, "fast-free", "state") == "● up"
        assert cell(app, "fast-free", "uptime") == "100.0%"
        assert cell(app, "fast-free", "tools") == "✔ ok"
        assert cell(app, "steady-paid", "tools") == "✖ bad"
        assert cell(app, "steady-paid", "price") == "0.1/0.5"
        assert cell(app, "limited", "state") == "⏸ limited"
        assert cell(app, "limited", "error") == "rate_limited: HTTP 429: slow down"
        # A missing key is listed, dimmed, with the variable to set.
        assert cell(app, "needs-key", "state") == "○ no key"
        assert cell(app, "needs-key", "error") == "set NEEDS_KEY_API_KEY"
        assert table_of(app).get_cell("needs-key", "id").style == "dim"
        assert cell(app, "fast-free", "age") == "30s"
        text = status(app)
        assert "store only (--no-probe)" in text
        assert "● 2 up" in text and "○ 1 no key" in text
        assert "store sqlite:///probes.db" in text


async def test_narrow_terminal_drops_columns_by_priority(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        shown = [c.key for c in table_of(app).shown_columns]
        assert shown[:3] == ["rank", "state", "id"]
        assert {"ttft", "uptime"} <= set(shown)
        assert "provider" not in shown and "price" not in shown
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: "provider" in [c.key for c in table_of(app).shown_columns])
        assert cell(app, "fast-free", "provider") == "Fast Free"


async def test_filters_and_text_filter(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("f")
        assert ids(app) == ["fast-free", "flaky-free", "needs-key"]
        await pilot.press("f", "h")
        assert "needs-key" not in ids(app) and len(ids(app)) == 4
        await pilot.press("h", "g")
        assert set(ids(app)) == {"fast-free", "steady-paid", "flaky-free"}  # degraded answers
        await pilot.press("g", "slash", *"flaky")
        assert ids(app) == ["flaky-free"]
        assert "name contains 'flaky'" in status(app)
        await pilot.press("escape")
        assert len(ids(app)) == 5


async def test_sort_by_columns_and_reverse(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        screen = app.screen
        assert isinstance(screen, RankingScreen)
        screen.sort("id")
        await pilot.pause()
        assert ids(app) == sorted(ids(app))
        await pilot.press("S")
        assert ids(app) == sorted(ids(app), reverse=True)
        screen.sort("ttft")
        await pilot.pause()
        assert ids(app)[0] == "fast-free"
        assert ids(app)[-1] == "needs-key"  # no value sorts last
        await pilot.press("s")  # next column: p95
        assert screen.sort_by == "p95"
        assert "sorted by TTFT p95" in status(app)


async def test_cursor_stays_on_the_same_endpoint_when_rows_move(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "down")
        assert table_of(app).selected_id == "flaky-free"
        screen = app.screen
        assert isinstance(screen, RankingScreen)
        screen.sort("id")
        await pilot.pause()
        assert table_of(app).selected_id == "flaky-free"
        assert table_of(app).cursor_row == ids(app).index("flaky-free")


async def test_refresh_touches_only_changed_cells(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        table = table_of(app)
        updates: list[tuple[str, str]] = []
        original = table.update_cell

        def spy(row: Any, column: Any, value: Any, **kw: Any) -> None:
            updates.append((str(row), str(column)))
            original(row, column, value, **kw)

        table.update_cell = spy  # type: ignore[method-assign]
        app.refresh_stats()
        await wait_for(pilot, lambda: not app._computing)
        await pilot.pause()
        assert updates == []


async def test_window_switch(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("w")
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.window == "24h")
        assert "window 24h" in status(app)
        await pilot.press("w", "w")
        assert app.window == "15m"
        # Over the last 15 minutes there are still all ten probes.
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.window == "15m")
        assert cell(app, "fast-free", "uptime") == "100.0%"


async def test_detail_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, EndpointScreen)
        assert app.screen.endpoint.id == "fast-free"
        probes = app.screen.query_one("#probes")
        await wait_for(pilot, lambda: probes.row_count == 11)  # type: ignore[attr-defined]
        quota = str(app.screen.query_one("#quota").render())
        assert "per 1m: 2 of 1 used" in quota  # rpm 30 at a 5% budget is 1 a minute
        assert "per 1d: 11 of 50 used" in quota
        entry = str(app.screen.query_one("#entry").render())
        assert "key: not needed" in entry
        await pilot.press("r")
        assert "Cannot probe" in notifications(app)[-1]
        await pilot.press("escape")
        assert isinstance(app.screen, RankingScreen)


async def test_detail_shows_rate_limit_headers_and_key_presence(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "down", "down", "enter")
        assert isinstance(app.screen, EndpointScreen)
        assert app.screen.endpoint.id == "limited"
        quota = app.screen.query_one("#quota")
        await wait_for(pilot, lambda: "x-ratelimit" in str(quota.render()))
        entry = str(app.screen.query_one("#entry").render())
        assert "LIMITED_API_KEY (present)" in entry
        assert "k-lim" not in entry


def install_fake_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Put the fake in place of monitor.export, even if the real one was imported already."""
    export = fake_export(tmp_path)
    monkeypatch.setitem(sys.modules, "monitor.export", export)
    monkeypatch.setattr(monitor, "export", export, raising=False)
    return export


def fake_export(tmp_path: Path) -> SimpleNamespace:
    """A stand-in for monitor.export that records what it was asked to do."""
    calls: list[tuple[str, ...]] = []

    class ExportError(Exception):
        pass

    def plan_export(tool: str, endpoint: Any, **_: Any) -> SimpleNamespace:
        if tool == "broken":
            raise ExportError("the config file is not valid JSON")
        path = tmp_path / f"{tool}.json"
        return SimpleNamespace(
            tool=tool, path=path, diff=f"+++ {path}\n+ {endpoint.id}\n", changed=True, notes=[]
        )

    def apply_export(plan: Any, **_: Any) -> SimpleNamespace:
        calls.append(("apply", plan.tool))
        return SimpleNamespace(
            tool=plan.tool,
            path=plan.path,
            backup=None,
            changed=True,
            message=f"Wrote {plan.path}; u undoes it.",
        )

    def last_export(env: Any) -> SimpleNamespace | None:
        tools = [tool for verb, tool in calls if verb == "apply"]
        return SimpleNamespace(tool=tools[-1]) if tools else None

    def describe(record: Any) -> str:
        return f"undo the export to {record.tool}"

    def undo(record: Any, env: Any) -> SimpleNamespace:
        calls.append(("undo", record.tool))
        return SimpleNamespace(tool=record.tool, message=f"Restored {record.tool}.")

    return SimpleNamespace(
        TOOLS={"opencode": "OpenCode", "kilo": "Kilo Code", "broken": "Broken"},
        ExportError=ExportError,
        plan_export=plan_export,
        apply_export=apply_export,
        last_export=last_export,
        describe=describe,
        undo=undo,
        calls=calls,
    )


async def test_export_keys(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = install_fake_export(tmp_path, monkeypatch)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("u")
        await wait_for(pilot, lambda: "Nothing to undo" in notifications(app)[-1])
        await pilot.press("o")
        await wait_for(pilot, lambda: export.calls == [("apply", "opencode")])
        await wait_for(pilot, lambda: "opencode.json" in notifications(app)[-1])
        await pilot.press("k")
        await wait_for(pilot, lambda: ("apply", "kilo") in export.calls)
        await pilot.press("u")  # says what it would undo, and waits for a second u
        await wait_for(pilot, lambda: "Press u again to undo the export to kilo" in
                       notifications(app)[-1])  # fmt: skip
        assert ("undo", "kilo") not in export.calls
        await pilot.press("u")
        await wait_for(pilot, lambda: ("undo", "kilo") in export.calls)
        await wait_for(pilot, lambda: notifications(app)[-1] == "Restored kilo.")


async def test_export_dialog(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = install_fake_export(tmp_path, monkeypatch)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("e")
        assert isinstance(app.screen, ExportModal)
        diff = app.screen.query_one("#diff")
        await pilot.press("down", "down")  # the "broken" tool: its error is shown, not raised
        await wait_for(pilot, lambda: "not valid JSON" in str(diff.render()))
        await pilot.press("up")
        await wait_for(pilot, lambda: "kilo.json" in str(app.screen.query_one("#title").render()))
        await pilot.press("enter", "enter")  # choose, then press Write
        await wait_for(pilot, lambda: isinstance(app.screen, RankingScreen))
        assert export.calls == [("apply", "kilo")]
        assert "kilo.json" in notifications(app)[-1]


async def test_every_footer_action_is_in_the_command_palette(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for expected in ("Sort by the next column", "Reverse the sort order",
                         "Free endpoints only", "Endpoints with a key only",
                         "Answering endpoints only", "Filter by name or id",
                         "Next window (15m, 1h, 24h, 7d)", "Export to OpenCode",
                         "Export to Kilo Code", "Undo the last export",
                         "Export… (pick a tool, see the diff)", "Details", "Window 24h",
                         "Sort by TTFT p50", "Quit"):  # fmt: skip
            assert expected in titles, expected
        # --no-probe hides the probing actions rather than offering what cannot work.
        assert "Pause or resume probing" not in titles
        assert "Probe the selected endpoint now" not in titles
        app.probing = True  # as if probing (without starting it: no network in tests)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for expected in ("Pause or resume probing", "Probe all endpoints now",
                         "Probe the selected endpoint now"):  # fmt: skip
            assert expected in titles, expected


async def test_export_with_the_real_writer(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()  # its HOME and XDG folders are under tmp_path
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("o")
        await wait_for(pilot, lambda: notifications(app)[-1].startswith("Wrote "))
        written = list((tmp_path / "config").rglob("*.json*"))
        assert len(written) == 1 and "fast-free" in written[0].read_text()
        await pilot.press("u")
        await wait_for(pilot, lambda: notifications(app)[-1].startswith("Press u again to undo"))
        assert "fast-free to OpenCode" in notifications(app)[-1]
        await pilot.press("u")
        await wait_for(pilot, lambda: notifications(app)[-1].startswith("Deleted "))
        assert not written[0].exists()


async def test_router_traffic_and_one_prober(make_app: MakeApp, filled_store: Any) -> None:
    from datetime import timedelta

    from monitor.core.models import ErrorKind, ProbeKind
    from tests.helpers import result
    from tests.tui.conftest import NOW

    at = NOW - timedelta(minutes=2)
    filled_store.add(
        [result("steady-paid", at=at, kind=ProbeKind.TRAFFIC),
         result("limited", ok=False, at=at, kind=ProbeKind.TRAFFIC, error=ErrorKind.SERVER)],
        prober="router",
    )  # fmt: skip
    filled_store.add([result("fast-free", at=at, ttft=900.0)] * 3, prober="eu-west")
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        assert "router: 2 upstream requests, 1 failed over" in status(app)
    app = make_app(only_prober="eu-west")
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        assert "as measured by eu-west" in status(app)
        assert ids(app)[0] == "fast-free" and cell(app, "fast-free", "ttft") == "900"
        assert cell(app, "steady-paid", "state") == "… pending"  # eu-west never probed it
