"""The quality canary in the dashboard: the column, the demotion, the failed answers in the
detail screen, and the key that checks answers now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Static

from monitor.core.models import ProbeKind, ProbeSettings, QualityItem
from monitor.scheduler import ScheduleSettings
from monitor.store import Store
from monitor.tui.app import MonitorApp
from tests.helpers import catalog_of, result, sim
from tests.tui.conftest import NOW, cell, ids, loaded, notifications, wait_for

pytestmark = pytest.mark.anyio


def verdicts(endpoint_id: str, right: int, wrong: int) -> list[Any]:
    return [
        result(
            endpoint_id,
            at=NOW - timedelta(seconds=5 + i),
            kind=ProbeKind.QUALITY,
            quality=QualityItem(
                task_id=f"arith-{i + 1:02d}",
                passed=i >= wrong,
                failure=None if i >= wrong else "wrong",
                expected="391",
                received="[bold]The answer is 392.[/bold]" if i == 0 else "392",
            ),
        )
        for i in range(right + wrong)
    ]


async def test_wrong_answers_show_and_demote(
    make_app: Callable[..., MonitorApp], filled_store: Store
) -> None:
    filled_store.add(verdicts("fast-free", 8, 12) + verdicts("steady-paid", 20, 0))
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await loaded(pilot, app)
        assert ids(app).index("steady-paid") < ids(app).index("fast-free")  # fast, but wrong
        assert cell(app, "fast-free", "quality") == "40% of 20"
        assert cell(app, "steady-paid", "quality") == "100% of 20"
        assert cell(app, "flaky-free", "quality") == "-"
        app.screen.query_one("#ranking").move_cursor(row=ids(app).index("fast-free"))
        await pilot.press("enter")
        answers = app.screen.query_one("#answers", Static)
        await wait_for(pilot, lambda: "arith-01" in str(answers.content))
        shown = str(answers.content)
        assert "40% of 20, 95% CI 22-61, answers wrong: 40% of 20 vs 100%" in shown
        assert "wrong: expected 391, received [bold]The answer is 392.[/bold]" in shown


async def test_the_check_answers_key_sends_quality_probes(
    run_fleet: Callable[..., Any], store: Store
) -> None:
    server, path = run_fleet(sim("sim-a"), sim("sim-b", quality={"wrong": 1.0}))
    app = MonitorApp(
        catalog_of(path),
        store,
        server.env(),
        ProbeSettings(total_s=5, first_token_s=5),
        ScheduleSettings(interval_s=3600, budget_fraction=1.0, quality_every=0),
        probing=True,
        refresh_s=0.2,
    )
    checked = lambda: sum(n for _, n in store.quality_counts(NOW.replace(year=2000)).values())  # noqa: E731
    async with app.run_test(size=(200, 30)) as pilot:
        await wait_for(pilot, lambda: app.probe_state == "on")
        assert checked() == 0  # quality_every=0: none unless asked
        await pilot.press("c")
        assert notifications(app)[-1].startswith("Checking one answer of each of the 2")
        await wait_for(pilot, lambda: checked() == 2, within_s=20)
        await wait_for(pilot, lambda: cell(app, "sim-b", "quality") == "0% of 1")
        await pilot.press("q")
