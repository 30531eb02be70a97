"""Several processes on one SQLite store: nothing lost, nothing locked, budgets shared.

A bounded version of the soak (tens of seconds, not minutes); the long one belongs to bench/.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.helpers import result, sim
from tests.reliability.conftest import Spawn, wait_until

Start = Callable[..., tuple[FleetServer, Path]]
SOAK_S = 20


def rows(db_file: Path) -> dict[str, tuple[int, int]]:
    """endpoint id -> (all rows, finished rows); in-flight rows are reserved budget slots."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        query = "SELECT endpoint_id, COUNT(*), SUM(ok IS NOT NULL) FROM probe GROUP BY 1"
        return {eid: (total, finished) for eid, total, finished in conn.execute(query)}


def test_cron_continuous_and_a_third_writer_lose_nothing(
    run_fleet: Start, spawn: Spawn, tmp_path: Path
) -> None:
    server, path = run_fleet(*[sim(f"ep-{i}") for i in range(4)],
                             sim("down", fail_rate={"server": 1.0}))  # fmt: skip
    db_file = tmp_path / "shared.db"
    common = ("--providers", str(path), "--db", f"sqlite:///{db_file}")
    continuous = spawn("probe", "--interval", "0.3", "--prober", "continuous", *common)
    deadline = time.monotonic() + SOAK_S
    imported = 0

    def third_writer() -> None:  # e.g. passive samples imported while probers run
        nonlocal imported
        store = Store(f"sqlite:///{db_file}")
        while time.monotonic() < deadline:
            imported += store.add([result("imported") for _ in range(20)], prober="import")
        store.close()

    writer = threading.Thread(target=third_writer)
    writer.start()
    crons = []
    while time.monotonic() < deadline:  # cron, back to back
        cron = spawn("probe", "--once", "--json", "--prober", "cron", *common)
        cron.wait()
        crons.append(cron)
    writer.join(timeout=60)
    continuous.process.send_signal(signal.SIGINT)
    assert continuous.wait() == 130
    assert len(crons) >= 3 and all(c.wait() in (0, 1) for c in crons)
    for prober in (continuous, *crons):
        assert "locked" not in prober.stderr() and "Traceback" not in prober.stderr()
    stored = rows(db_file)
    assert stored.pop("imported") == (imported, imported)
    sent = server.fleet.request_counts()
    assert sent.keys() == stored.keys()
    for endpoint_id, (total, finished) in stored.items():
        # Only the prober stopped with Ctrl-C can leave one probe of an endpoint unfinished.
        assert finished <= sent[endpoint_id] <= total <= finished + 1, endpoint_id
        assert sent[endpoint_id] >= len(crons)


def test_kill_9_mid_round_leaves_a_sound_store(
    run_fleet: Start, spawn: Spawn, tmp_path: Path
) -> None:
    server, path = run_fleet(*[sim(f"ep-{i}", ttft_ms={"mean": 150}) for i in range(8)])
    db_file = tmp_path / "killed.db"
    common = ("--providers", str(path), "--db", f"sqlite:///{db_file}")
    for kill in range(3):
        prober = spawn("probe", "--interval", "0.2", *common)
        target = sum(server.fleet.request_counts().values()) + 12
        # Kill while probes are in flight and their rows are being written.
        wait_until(lambda t=target: sum(server.fleet.request_counts().values()) >= t, 30,
                   f"probes before kill {kill}")  # fmt: skip
        os.kill(prober.process.pid, signal.SIGKILL)
        assert prober.wait() == -signal.SIGKILL
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    before = rows(db_file).values()
    assert sum(t for t, _ in before) > sum(f for _, f in before)  # killed mid-probe indeed
    finished_before = sum(f for _, f in before)
    after = spawn("probe", "--once", "--json", *common)
    assert after.wait() == 0, after.stderr()
    assert sum(f for _, f in rows(db_file).values()) == finished_before + 8
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert len(Store(f"sqlite:///{db_file}").samples(since)) == finished_before + 8


def test_continuous_probers_share_one_budget(
    run_fleet: Start, spawn: Spawn, tmp_path: Path
) -> None:
    server, path = run_fleet(sim("tiny", quota={"rpd": 60}))  # 5% -> 3 probes a day
    common = ("--providers", str(path), "--db", f"sqlite:///{tmp_path / 'budget.db'}")
    probers = [spawn("probe", "--interval", "0.2", *common) for _ in range(5)]
    # Each prober probes (or is refused) once at start, then waits hours for the next slot.
    wait_until(lambda: all(" tiny" in p.stdout() for p in probers), 60, "every prober's try")
    for prober in probers:
        prober.process.send_signal(signal.SIGINT)
        assert prober.wait() == 130, prober.stderr()
    outputs = "".join(p.stdout() for p in probers)
    assert server.fleet.request_counts() == {"tiny": 3}
    assert outputs.count("skipped tiny: budget: 3 of 3 probes in 1d used") == 2
