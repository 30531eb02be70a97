"""Dashboard: a burst of landings on 200 endpoints, in this process (Textual's test driver).

    python bench/dashboard_burst.py [--endpoints 200] [--landings 40]
Target: 40 probes landing 50 ms apart (2 s) settle within 4 s, in at most 12 recomputes:
the event loop is never blocked by ranking or the store. tests/tui/test_bench.py runs the
same burst and checks the behaviour (recomputes, the table showing the new probes), not time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import header

from monitor.catalog import Catalog, Endpoint
from monitor.core.models import ProbeResult
from monitor.scheduler import ProbeLanded
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.messages import ProbeEvent
from monitor.tui.widgets.ranking_table import RankingTable


def probe(endpoint_id: str, at: datetime, ok: bool = True, ttft: float = 200.0) -> ProbeResult:
    return ProbeResult(
        endpoint_id=endpoint_id, started_at=at, ok=ok, status=200 if ok else 500,
        error=None if ok else "server", ttft_ms=ttft if ok else None,
        total_ms=ttft + 300 if ok else 20.0, output_tokens=24 if ok else None,
        tokens_per_s=150.0 if ok else None,
    )  # fmt: skip


async def burst(folder: Path, count: int = 200, landings: int = 40) -> dict[str, Any]:
    """Fill a store, open the dashboard on it, land `landings` probes 50 ms apart."""
    ids = [f"ep-{i:03}" for i in range(count)]
    endpoints = [
        Endpoint(id=i, name=i, base_url=f"https://{i}.example/v1", model="m", free=n % 2 == 0)
        for n, i in enumerate(ids)
    ]
    store = Store(f"sqlite:///{folder / 'burst.db'}")
    start = datetime.now(UTC) - timedelta(minutes=30)
    store.add(
        probe(i, start + timedelta(seconds=9 * n), (k + n) % 7 != 0, 100.0 + k)
        for k, i in enumerate(ids)
        for n in range(20)
    )
    app = MonitorApp(Catalog(providers=endpoints), store, {}, probing=False, refresh_s=None)
    landed: list[str] = []
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one(RankingTable)
        while table.row_count < count:
            await pilot.pause(0.02)
        refreshes = 0

        def counted(_: object) -> None:
            nonlocal refreshes
            refreshes += 1

        app.watch(app, "snapshot", counted, init=False)
        began = time.monotonic()
        for n in range(landings):
            endpoint_id = ids[n * 5 % count]
            result = probe(endpoint_id, datetime.now(UTC), ttft=90.0)
            store.add([result])
            landed.append(endpoint_id)
            app.post_message(ProbeEvent(ProbeLanded(result)))
            await pilot.pause(0.05)
        while app._computing or app._soon is not None:
            await pilot.pause(0.02)
        elapsed = time.monotonic() - began
        ages = {i: table.get_cell(i, "age").plain for i in landed}
    store.close()
    return {"refreshes": refreshes, "elapsed": elapsed, "landed": landed, "ages": ages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--landings", type=int, default=40)
    args = parser.parse_args()
    header("dashboard burst")
    with tempfile.TemporaryDirectory() as folder:
        r = asyncio.run(burst(Path(folder), args.endpoints, args.landings))
    print(f"settled in:   {r['elapsed']:.2f} s for {args.landings} landings 50 ms apart "
          "(target <= 4 s)")  # fmt: skip
    print(f"recomputes:   {r['refreshes']} (target <= 12)")


if __name__ == "__main__":
    main()
