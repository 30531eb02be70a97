"""200 endpoints with probes landing every 50 ms: the dashboard keeps up (a coarse bench)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.catalog import Catalog
from monitor.scheduler import ProbeLanded
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.messages import ProbeEvent
from tests.helpers import result
from tests.tui.conftest import endpoint, table_of, wait_for

pytestmark = pytest.mark.anyio
COUNT = 200


async def test_two_hundred_endpoints_stay_smooth(tmp_path: Path) -> None:
    catalog = Catalog(providers=[endpoint(f"ep-{i:03}", free=i % 2 == 0) for i in range(COUNT)])
    store = Store(f"sqlite:///{tmp_path / 'bench.db'}")
    start = datetime.now(UTC) - timedelta(minutes=30)
    store.add(
        result(
            f"ep-{i:03}", ok=(i + n) % 7 != 0, at=start + timedelta(seconds=9 * n), ttft=100.0 + i
        )
        for i in range(COUNT)
        for n in range(20)
    )
    app = MonitorApp(catalog, store, {}, probing=False, refresh_s=None)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: table_of(app).row_count == COUNT)
        refreshes = 0

        def count(_: object) -> None:
            nonlocal refreshes
            refreshes += 1

        app.watch(app, "snapshot", count, init=False)
        began = time.monotonic()
        # Forty probes landing 50 ms apart: the debounce turns them into a few recomputes.
        for n in range(40):
            landed = result(f"ep-{n * 5 % COUNT:03}", at=datetime.now(UTC), ttft=90.0)
            store.add([landed])
            app.post_message(ProbeEvent(ProbeLanded(landed)))
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: not app._computing and app._soon is None)
        elapsed = time.monotonic() - began
        assert refreshes <= 12, f"{refreshes} recomputes for 40 landings"
        # 40 x 50 ms of landings should not take much longer: the loop was never blocked.
        assert elapsed < 4.0, f"took {elapsed:.1f} s"
    store.close()
