"""The dashboard's prober process: it says why it cannot start, and the UI sees it die."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot

from monitor.core.models import ProbeSettings
from monitor.scheduler import ScheduleSettings
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.prober import Prober, ProberError, open_prober
from tests.helpers import sim
from tests.tui.conftest import notifications, probing_app, wait_for

pytestmark = pytest.mark.anyio


async def test_a_store_the_prober_cannot_open_is_an_error_with_the_reason() -> None:
    store: Any = SimpleNamespace(url="nosuchdriver://x", is_sqlite=False, path=None)
    with pytest.raises(ProberError, match="not a SQLAlchemy URL"):
        async with open_prober([], store, {}, ProbeSettings(), ScheduleSettings(), print):
            pass


async def test_a_memory_store_is_refused() -> None:
    store = Store("sqlite://")
    with pytest.raises(ProberError, match="needs a store file"):
        async with open_prober([], store, {}, ProbeSettings(), ScheduleSettings(), print):
            pass
    store.close()


@asynccontextmanager
async def probing(
    run_fleet: Callable[..., Any], store: Store
) -> AsyncIterator[tuple[MonitorApp, Pilot[object], Prober]]:
    """The dashboard on a one-endpoint fleet, its prober process running."""
    server, path = run_fleet(sim("sim-a"))
    app = probing_app(path, store, server.env())
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.probe_state == "on", within_s=20)
        assert app.scheduler is not None
        yield app, pilot, app.scheduler


async def test_the_dashboard_says_when_its_prober_dies(
    run_fleet: Callable[..., Any], store: Store
) -> None:
    async with probing(run_fleet, store) as (app, pilot, prober):
        prober.process.kill()
        await wait_for(pilot, lambda: app.probe_state == "stopped", within_s=20)
        assert any("the prober stopped (exit code -9)" in n for n in notifications(app))
        await pilot.press("a")
        assert "not running" in notifications(app)[-1]


async def test_quitting_waits_for_the_prober_process_to_end(
    run_fleet: Callable[..., Any], store: Store
) -> None:
    async with probing(run_fleet, store) as (_, pilot, prober):
        process = prober.process
        await pilot.press("q")
        # By the time the quit has run, the child has exited: nothing writes to the store
        # (or to the demo's folder, removed next) any more.
        assert process.returncode is not None
