"""The dashboard as a newcomer meets it (issue 14): where the cursor starts, what the first
frame says, what the demo refuses, `r` on a rate-limited endpoint, small terminals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.widgets import Button, Static

from monitor.scheduler import ProbeSkipped, ProbeStarted
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.messages import ProbeEvent
from monitor.tui.screens.endpoint import _minutes_axis
from monitor.tui.screens.export import ExportModal
from monitor.tui.screens.ranking import RankingScreen
from monitor.tui.widgets.status_line import StatusLine
from tests.helpers import result
from tests.tui.conftest import NOW, ids, loaded, notifications, table_of, wait_for

pytestmark = pytest.mark.anyio
MakeApp = Callable[..., MonitorApp]


def why(app: MonitorApp) -> str:
    return str(app.screen.query_one("#why", Static).render())


async def test_the_cursor_starts_on_rank_1_and_stays_there_as_the_ranking_settles(
    make_app: MakeApp, filled_store: Store
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        assert table_of(app).selected_id == ids(app)[0] == "fast-free"
        # steady-paid becomes the best: the untouched cursor is on the new #1.
        filled_store.add([result("fast-free", ok=False, at=NOW - timedelta(seconds=s))
                          for s in (20, 15, 10)])  # fmt: skip
        app.refresh_stats()
        await wait_for(pilot, lambda: ids(app)[0] != "fast-free")
        assert table_of(app).selected_id == ids(app)[0]
        # Once the user picks a row, the cursor follows that endpoint instead.
        await pilot.press("down")
        chosen = table_of(app).selected_id
        screen = app.screen
        assert isinstance(screen, RankingScreen)
        screen.sort("id")
        await pilot.pause()
        assert table_of(app).selected_id == chosen


async def test_no_filter_no_filter_message(make_app: MakeApp) -> None:
    app = make_app()
    seen: list[str] = []
    async with app.run_test(size=(120, 30)) as pilot:
        app.watch(app, "snapshot", lambda _: seen.append(why(app)))
        await loaded(pilot, app)
        seen.append(why(app))
        assert not any("No endpoint matches" in text for text in seen), seen
        await pilot.press("slash", *"zzz")
        await wait_for(pilot, lambda: "No endpoint matches the filters" in why(app))


async def test_the_demo_refuses_to_export_its_simulated_endpoints(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(simulated=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        for key in ("o", "k", "e"):
            await pilot.press(key)
            assert "simulated on 127.0.0.1" in notifications(app)[-1]
            assert isinstance(app.screen, RankingScreen)
        assert not (tmp_path / "config").exists()  # nothing written anywhere


async def test_ctrl_c_quits_like_q(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 0


async def test_r_on_a_rate_limited_endpoint_says_why_before_anything_else(
    make_app: MakeApp,
) -> None:
    app = make_app()
    asked: list[str] = []
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        app.probing = True  # a stand-in scheduler: no network in tests
        app.scheduler = SimpleNamespace(paused=False, in_flight=set(), probe_now=asked.append)  # type: ignore[assignment]
        await pilot.press("down", "down", "down")
        assert table_of(app).selected_id == "limited"
        await pilot.press("r")
        assert asked == ["limited"] and notifications(app) == []  # no "Probing now" yet
        app.post_message(ProbeEvent(ProbeSkipped("limited", "rate-limited until 12:05")))
        await wait_for(pilot, lambda: notifications(app))
        assert notifications(app) == ["limited was not probed: rate-limited until 12:05."]
        await pilot.press("r")
        app.post_message(ProbeEvent(ProbeStarted("limited", "chat")))  # type: ignore[arg-type]
        await wait_for(pilot, lambda: notifications(app)[-1] == "Probing limited now.")
        app.scheduler = None


async def test_the_header_is_one_line_from_120_columns(make_app: MakeApp) -> None:
    for width, most in ((120, 1), (200, 1), (80, 3)):
        app = make_app(simulated=True)
        async with app.run_test(size=(width, 30)) as pilot:
            await loaded(pilot, app)
            await pilot.pause()
            assert app.screen.query_one(StatusLine).size.height <= most, width


async def test_sorting_offers_only_columns_on_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = app.screen
        assert isinstance(screen, RankingScreen)
        shown = [c.key for c in table_of(app).shown_columns]
        visited = []
        for _ in shown:
            await pilot.press("s")
            visited.append(screen.sort_by)
        assert set(visited) == set(shown)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert "Sort by provider" not in titles and "Sort by TTFT p50" in titles


async def test_the_export_dialog_fits_60_by_20(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tui.test_dashboard import install_fake_export

    install_fake_export(tmp_path, monkeypatch)
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await loaded(pilot, app)
        await pilot.press("e")
        assert isinstance(app.screen, ExportModal)
        await pilot.press("down")  # a tool: its diff is planned
        write = app.screen.query_one("#write", Button)
        await wait_for(pilot, lambda: not write.disabled)  # the plan (its diff) is shown
        screen = app.screen.region
        for widget in (app.screen.query_one("#diff-box"), *app.screen.query(Button)):
            region = widget.region
            assert region.height >= 1 and screen.contains_region(region), widget


def test_chart_time_axes_read_whole_positive_minutes() -> None:
    told: dict[str, Any] = {}
    plt = SimpleNamespace(
        xticks=lambda ticks, labels: told.update(ticks=ticks, labels=labels),
        xlim=lambda low, high: told.update(xlim=(low, high)),
        xlabel=lambda label: told.update(xlabel=label),
    )
    _minutes_axis(plt, [-47.3, -20.1, -0.4])  # type: ignore[arg-type]
    assert told["labels"][0] == "0" and all(label.isdigit() for label in told["labels"])
    assert [-int(label) for label in told["labels"]] == told["ticks"]
    assert told["xlim"] == (-48, 0) and told["xlabel"] == "minutes ago"
    _minutes_axis(plt, [])  # no probe yet: still a sane axis
    assert told["labels"] == ["0", "1"]
