"""Class: one endpoint never takes down the others. An unexpected exception in one probe
(our bug, whatever triggered it) becomes that probe's failure with kind `internal` and a
sentence naming the log; the round, the continuous loop, the dashboard and the router's
recorder and ranking refresh go on; reserved rows are finished; tracebacks go to the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import monitor.probe
from monitor.cli import main
from monitor.core import crash
from monitor.core.models import ErrorKind, ProbeResult, ProbeSettings, State
from monitor.router import Router, RouterServer, RouterSettings
from monitor.scheduler import Event, ProbeLanded, ProbeSkipped, ScheduleSettings, open_scheduler
from monitor.sim.fleet import FLEET_KEY_ENV
from monitor.store import Store
from monitor.tui.app import MonitorApp
from tests.e2e.test_router import CHAT, ENV, seed
from tests.helpers import FLEET_KEY, catalog_of, json_lines, sim
from tests.reliability.conftest import wait_until
from tests.reliability.wire import Start
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def log_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the internal-error log goes: the user's state folder, here a temporary one."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return crash.log_path()


@pytest.fixture
def buggy(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, type[Exception]], None]:
    """Make probing one endpoint raise, as a bug in our code would."""

    def arm(endpoint_id: str, error: type[Exception] = RuntimeError) -> None:
        real = monitor.probe.probe  # the scheduler imports it where it probes

        async def probe(client: Any, endpoint: Any, *args: Any, **kwargs: Any) -> ProbeResult:
            if endpoint.id == endpoint_id:
                raise error(f"simulated bug probing {endpoint_id}")
            return await real(client, endpoint, *args, **kwargs)

        monkeypatch.setattr(monitor.probe, "probe", probe)

    return arm


def unfinished(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM probe WHERE ok IS NULL").fetchone()[0])


@pytest.mark.parametrize("error", [RuntimeError, RecursionError, UnicodeError])
def test_a_round_survives_a_bug_in_one_probe(
    error: type[Exception],
    run_fleet: Start,
    buggy: Callable[..., None],
    log_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, path = run_fleet(sim("good-1"), sim("hostile"), sim("good-2"))
    monkeypatch.setenv(FLEET_KEY_ENV, FLEET_KEY)
    buggy("hostile", error)
    db = tmp_path / "round.db"
    common = ["--providers", str(path), "--db", f"sqlite:///{db}"]
    assert main(["probe", "--once", "--json", *common]) == 0
    lines, said = capsys.readouterr()
    assert main(["probe", "--once", *common]) == 0  # the table too
    out, err = capsys.readouterr()
    rows = {r["id"]: r for r in json_lines(lines)}
    assert rows["good-1"]["ok"] and rows["good-2"]["ok"]
    assert rows["hostile"]["error"] == "internal"
    assert "internal error while probing hostile" in rows["hostile"]["message"]
    assert str(log_home) in rows["hostile"]["message"]
    assert "Traceback" not in lines + said + out + err and "internal" in out
    assert "Traceback" in log_home.read_text() and "simulated bug" in log_home.read_text()
    assert unfinished(db) == 0  # every reserved row was finished


async def test_the_continuous_loop_survives_bugs_in_probes_and_displays(
    run_fleet: Start, store: Store, buggy: Callable[..., None], log_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server, path = run_fleet(sim("good"), sim("hostile"), sim("flaky-store"))
    buggy("hostile")
    real_reserve = store.reserve
    calls = {"n": 0}

    def reserve(claims: list[Any]) -> Any:  # a bug outside the probe, once
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("simulated bug in the reservation")
        return real_reserve(claims)

    monkeypatch.setattr(store, "reserve", reserve)
    landed: list[ProbeResult] = []
    skipped: list[str] = []
    changed = anyio.Event()

    def on_event(event: Event) -> None:
        nonlocal changed
        if isinstance(event, ProbeLanded):
            landed.append(event.result)
        elif isinstance(event, ProbeSkipped):
            skipped.append(event.reason)
        changed.set()
        raise ValueError("[/bold] a display that breaks")  # the live log's old failure

    def enough() -> bool:
        ids = [r.endpoint_id for r in landed]
        return all(ids.count(e) >= 2 for e in ("good", "hostile", "flaky-store"))

    settings = ScheduleSettings(interval_s=0.05, budget_fraction=1.0, jitter=0)
    async with (
        open_scheduler(catalog_of(path).enabled(), store, server.env(), ProbeSettings(),
                       settings, on_event) as sched,
        anyio.create_task_group() as group,
    ):  # fmt: skip
        group.start_soon(sched.run)
        with anyio.fail_after(30):
            while not enough():
                changed = anyio.Event()
                await changed.wait()
        group.cancel_scope.cancel()
    assert all(r.ok for r in landed if r.endpoint_id != "hostile")
    assert {r.error for r in landed if r.endpoint_id == "hostile"} == {ErrorKind.INTERNAL}
    assert any("internal error while scheduling" in s for s in skipped)
    log = await anyio.Path(log_home).read_text()
    assert "simulated bug in the reservation" in log and "a display that breaks" in log


async def test_the_dashboard_keeps_probing(run_fleet: Start, store: Store, log_home: Path) -> None:
    """The dashboard probes in a process of its own (tui/prober.py), which a test cannot
    patch: a provider sending broken bytes stands in for the bug; the scheduler's own
    isolation of bugs is tested above, and a prober that dies in tests/tui/test_prober.py."""
    server, path = run_fleet(sim("good"), sim("hostile", mode="broken_json"))
    app = MonitorApp(
        catalog_of(path), store, server.env(), ProbeSettings(total_s=5),
        ScheduleSettings(interval_s=0.2, budget_fraction=1.0), probing=True, refresh_s=0.2,
    )  # fmt: skip

    def stats(endpoint_id: str) -> Any:
        snapshot = app.snapshot
        return snapshot and next((s for s in snapshot.stats if s.id == endpoint_id), None)

    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: stats("good") and stats("good").samples >= 3, within_s=30)
        await wait_for(pilot, lambda: stats("hostile") and stats("hostile").samples >= 3)
        assert app.probe_state == "on"
        assert stats("good").state is State.UP
        assert stats("hostile").last_error == "bad_response"
        await pilot.press("q")


def test_the_routers_recorder_and_refresh_survive_bugs(
    run_fleet: Start, store: Store, log_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.catalog import load_catalog

    _, path = run_fleet(sim("fast"))
    seed(store, "fast", 100)
    router = Router(load_catalog(str(path), env=ENV), store, ENV, RouterSettings(refresh_s=0.05))
    real_add, real_refresh = store.add, router.picker.refresh
    broken = {"add": 1, "refresh": 3}

    def add(batch: list[ProbeResult], prober: str = "") -> int:
        if broken["add"]:
            broken["add"] -= 1
            raise TypeError("simulated bug storing traffic")
        return real_add(batch, prober)

    def refresh() -> None:
        if broken["refresh"]:
            broken["refresh"] -= 1
            raise ZeroDivisionError("simulated bug ranking")
        real_refresh()

    monkeypatch.setattr(store, "add", add)
    monkeypatch.setattr(router.picker, "refresh", refresh)
    with RouterServer(router) as server:
        health = f"{server.url.removesuffix('/v1')}/health"
        # The refresh fails three times, then the next one brings the ranking back.
        wait_until(lambda: httpx.get(health, timeout=30).status_code == 200, 30, "a ranking")
        answers = [httpx.post(f"{server.url}/chat/completions", json=CHAT, timeout=30)
                   for _ in range(3)]  # fmt: skip
        # Samples are written in batches: the first write fails, the recorder goes on.
        wait_until(lambda: broken["add"] == 0, 30, "the first traffic batch")
        answers.append(httpx.post(f"{server.url}/chat/completions", json=CHAT, timeout=30))
    assert [a.status_code for a in answers] == [200] * 4
    assert broken == {"add": 0, "refresh": 0}
    traffic = [s for s in store.recent("fast", 50) if s.kind == "traffic"]
    assert 1 <= len(traffic) <= 3  # the first batch was lost, later ones stored
    log = log_home.read_text()
    assert "simulated bug storing traffic" in log and "simulated bug ranking" in log
