"""The dashboard probing a simulated fleet on 127.0.0.1: live rows, pause, probe now, quit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from monitor.core.models import State
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.screens.endpoint import EndpointScreen
from tests.helpers import sim
from tests.tui.conftest import cell, notifications, probing_app, wait_for

pytestmark = pytest.mark.anyio


def state_of(app: MonitorApp, endpoint_id: str) -> State | None:
    snapshot = app.snapshot
    stats = snapshot and next((s for s in snapshot.stats if s.id == endpoint_id), None)
    return stats.state if stats else None


async def test_probes_land_live_and_controls_work(
    run_fleet: Callable[..., Any], store: Store
) -> None:
    server, path = run_fleet(sim("sim-a"), sim("sim-b"), sim("sim-nokey", key_env="SIM_NOKEY_KEY"))
    app = probing_app(path, store, server.env())
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: state_of(app, "sim-a") is State.UP, within_s=20)
        await wait_for(pilot, lambda: state_of(app, "sim-b") is State.UP, within_s=20)
        assert cell(app, "sim-nokey", "error") == "set SIM_NOKEY_KEY"
        assert app.probe_state == "on"
        await pilot.press("p")
        assert app.scheduler is not None and app.scheduler.paused
        await pilot.press("a")
        assert "paused" in notifications(app)[-1]
        await pilot.press("p")
        assert not app.scheduler.paused
        before = store.count_since("sim-a", app.clock().replace(year=2000))
        await pilot.press("a")
        await wait_for(
            pilot, lambda: store.count_since("sim-a", app.clock().replace(year=2000)) > before
        )
        await pilot.press("enter")
        assert isinstance(app.screen, EndpointScreen)
        chosen = app.screen.endpoint.id
        await pilot.press("r")
        assert notifications(app)[-1] in (
            f"Probing {chosen} now.",
            f"A probe of {chosen} is already in flight.",
        )
        await pilot.press("escape", "q")
    assert app.return_code in (0, None)
    assert app.scheduler is None  # the worker left the scheduler's block: the client is closed
