"""Dashboard fixtures: a fixed catalogue, a store of fixed probes, a fixed clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from monitor.catalog import Catalog, Endpoint
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings
from monitor.scheduler import ScheduleSettings
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.widgets.ranking_table import RankingTable
from tests.helpers import catalog_of, result

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ENV = {"STEADY_API_KEY": "k-steady", "FLAKY_API_KEY": "k-flaky", "LIMITED_API_KEY": "k-lim"}


def endpoint(endpoint_id: str, **fields: object) -> Endpoint:
    data: dict[str, object] = {
        "id": endpoint_id,
        "name": endpoint_id.replace("-", " ").title(),
        "base_url": f"https://{endpoint_id}.example/v1",
        "model": "openai/gpt-oss-120b",
    }
    return Endpoint.model_validate({**data, **fields})


CATALOG = Catalog(
    providers=[
        endpoint("fast-free", free=True, quota={"rpm": 30, "rpd": 1000}),
        endpoint("steady-paid", api_key_env="STEADY_API_KEY", price={"input": 0.1, "output": 0.5}),
        endpoint("flaky-free", api_key_env="FLAKY_API_KEY", free=True),
        endpoint("limited", api_key_env="LIMITED_API_KEY", price={"input": 0.2, "output": 0.8}),
        endpoint("needs-key", api_key_env="NEEDS_KEY_API_KEY", free=True),
    ]
)


def fixed_probes() -> list[ProbeResult]:
    """Ten minutes of probes, one a minute, ending a minute before NOW."""
    probes: list[ProbeResult] = []
    for i in range(10):
        at = NOW - timedelta(minutes=10 - i)
        probes.append(result("fast-free", at=at, ttft=150.0 + 5 * i))
        probes.append(result("steady-paid", at=at, ttft=400.0 + 10 * (i % 3)))
        probes.append(result("flaky-free", ok=i % 3 != 2, at=at, ttft=250.0))
        limited = i < 7
        probes.append(
            result(
                "limited",
                ok=limited,
                at=at,
                ttft=300.0,
                error=None if limited else ErrorKind.RATE_LIMITED,
                message="" if limited else "HTTP 429: slow down",
                rate_limit={"x-ratelimit-remaining-requests": "0"} if not limited else {},
            )
        )
    probes.append(result("fast-free", at=NOW - timedelta(seconds=30), kind=ProbeKind.TOOLS))
    probes.append(
        result(
            "steady-paid",
            ok=False,
            at=NOW - timedelta(seconds=30),
            kind=ProbeKind.TOOLS,
            error=ErrorKind.BAD_RESPONSE,
            message="tool call arguments are not valid JSON",
        )
    )
    return probes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture
def filled_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    # A relative path, so the store location in the header is the same in every run.
    monkeypatch.chdir(tmp_path)
    store = Store("sqlite:///probes.db")
    store.add(fixed_probes())
    yield store
    store.close()


@pytest.fixture
def make_app(filled_store: Store, tmp_path: Path) -> Callable[..., MonitorApp]:
    """A dashboard on the fixed store that does not probe and whose clock stands still."""
    env = {
        **ENV,
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }

    def make(**options: object) -> MonitorApp:
        settings: dict[str, object] = {"probing": False, "clock": lambda: NOW, "refresh_s": None}
        return MonitorApp(CATALOG, filled_store, env, **{**settings, **options})  # type: ignore[arg-type]

    return make


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], within_s: float = 10
) -> None:
    """Let the app run until `condition()` holds; fail after `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "the dashboard did not get there in time"
        await pilot.pause(0.02)


def table_of(app: MonitorApp) -> RankingTable:
    return app.screen.query_one(RankingTable)


def ids(app: MonitorApp) -> list[str]:
    return [str(row.key.value) for row in table_of(app).ordered_rows]


def cell(app: MonitorApp, endpoint_id: str, column: str) -> str:
    return table_of(app).get_cell(endpoint_id, column).plain


async def loaded(pilot: Pilot[object], app: MonitorApp) -> None:
    await wait_for(pilot, lambda: table_of(app).row_count == len(CATALOG.providers))


def notifications(app: MonitorApp) -> list[str]:
    return [n.message for n in app._notifications]


def probing_app(catalogue: Path, store: Store, env: dict[str, str]) -> MonitorApp:
    """The dashboard probing a simulated fleet for real (its prober process included)."""
    return MonitorApp(
        catalog_of(catalogue),
        store,
        env,
        ProbeSettings(total_s=5, first_token_s=5),
        ScheduleSettings(interval_s=30, budget_fraction=1.0),
        probing=True,
        simulated=True,
        refresh_s=0.2,
    )
