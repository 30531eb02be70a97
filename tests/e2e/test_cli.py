"""The real CLI, as a subprocess, against a simulated fleet over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.helpers import FLEET_KEY, json_lines, result, sim

Start = Callable[..., tuple[FleetServer, Path]]
COMMANDS = [
    "dashboard", "demo", "probe", "rank", "providers", "prune", "fleet", "export", "metrics",
    "router",
]  # fmt: skip


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "OSS_FLEET_KEY": FLEET_KEY, **(env or {})}
    full_env.pop("OSS_MONITOR_PROVIDERS", None)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_probe_once_json_then_rank(run_fleet: Start, db_url: str) -> None:
    """The cron path end to end, on SQLite and on PostgreSQL."""
    db = db_url
    server, path = run_fleet(
        sim("quick", ttft_ms={"mean": 20}),
        sim("slow", ttft_ms={"mean": 300}),
        sim("dead", fail_rate={"server": 1.0}),
        sim("nokey", key_env="SIM_UNSET_KEY"),
    )
    for _ in range(3):
        done = cli("probe", "--once", "--json", "--providers", str(path), "--db", db)
        assert done.returncode == 0, done.stderr
    rows = json_lines(done.stdout)
    by_id = {r["id"]: r for r in rows}
    for key in ("id", "ok", "status", "error", "ttft_ms", "total_ms", "tokens_per_s",
                "output_tokens"):  # fmt: skip
        assert key in rows[0]
    assert by_id["quick"]["ok"] is True and by_id["quick"]["ttft_ms"] > 15
    assert by_id["dead"]["error"] == "server" and by_id["dead"]["status"] == 500
    assert by_id["nokey"]["error"] == "no_key"
    assert server.fleet.request_counts() == {"quick": 3, "slow": 3, "dead": 3, "nokey": 0}

    ranked = cli("rank", "--json", "--window", "15m", "--providers", str(path), "--db", db)
    assert ranked.returncode == 0, ranked.stderr
    stats = json_lines(ranked.stdout)
    assert [s["id"] for s in stats[:3]] == ["quick", "slow", "dead"]
    assert stats[0]["rank"] == 1 and stats[0]["uptime"] == 1.0 and stats[0]["samples"] == 3
    assert stats[2]["last_error"] == "server" and stats[2]["uptime"] == 0.0
    for key in ("score", "ttft_p50_ms", "ttft_p95_ms", "total_p50_ms", "tokens_per_s"):
        assert key in stats[0]

    table = cli("rank", "--providers", str(path), "--db", db)
    assert "quick" in table.stdout and "100.0% up over 1h" in table.stdout


def test_exit_1_when_nothing_is_healthy(run_fleet: Start, db: str) -> None:
    _, path = run_fleet(sim("down", fail_rate={"server": 1.0}), sim("locked", key="other-key"))
    done = cli("probe", "--once", "--providers", str(path), "--db", db)
    assert done.returncode == 1
    assert "server" in done.stdout and "auth" in done.stdout
    assert "HTTP 401: Invalid API key provided: (none)" not in done.stdout  # key was sent
    assert FLEET_KEY not in done.stdout  # the provider echoes it; we redact it


def test_budget_holds_across_concurrent_processes(run_fleet: Start, db: str) -> None:
    server, path = run_fleet(sim("tiny", quota={"rpd": 60}))  # 5% -> 3 probes a day
    args = ("probe", "--once", "--json", "--providers", str(path), "--db", db)
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: cli(*args), range(8)))
    assert all(r.returncode in (0, 1) for r in runs), [r.stderr for r in runs]
    assert server.fleet.request_counts() == {"tiny": 3}
    skipped = [json_lines(r.stdout)[0]["skipped"] for r in runs]
    assert skipped.count(None) == 3 and all("budget" in s for s in skipped if s)


BAD_CATALOGUES = {
    "syntax": ("providers:\n  - id: [x\n", ":3: a [list] that is never closed"),
    "unknown key": ("providers:\n  - {id: a, name: A, base_url: 'http://x', model: m, "
                    "colour: red}\n", ":2: endpoint 'a' colour: unknown key"),
    "empty": ("", ":1: the file is empty"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_CATALOGUES))
@pytest.mark.parametrize("command", ["probe --once", "rank", "providers --check"])
def test_bad_catalogue_is_exit_2_with_file_line(
    tmp_path: Path, db: str, case: str, command: str
) -> None:
    text, needle = BAD_CATALOGUES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = cli(*command.split(), "--providers", str(path), "--db", db)
    assert done.returncode == 2
    assert done.stderr.startswith(f"oss-monitor: {path}{needle}"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["rank", "--window", "soon"], "'soon' is not a duration; use a number and a unit"),
        (["probe", "--interval", "2x"], "'2x' is not a duration; use a number and a unit"),
        (["prune", "--older-than=-3d"], "is not a duration"),
        (["probe", "--once", "--only", "nope"], "unknown endpoint id nope"),
        (["probe", "--once", "--interval", "-5"], "'-5' is not a duration"),
        (["probe", "--once", "--concurrency", "0"], "must be greater than zero"),
        (["probe", "--once", "--budget", "3"], "fraction between 0 and 1"),
        (["fleet", "--port", "99999"], "not between 0 and 65535"),
    ],
)
def test_nonsense_arguments_are_exit_2(db: str, args: list[str], needle: str) -> None:
    extra = ["--db", db] if args[0] not in ("fleet",) else []
    done = cli(*args, *extra)
    assert done.returncode == 2
    assert needle in done.stderr and "Traceback" not in done.stderr


def test_corrupt_store_is_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 200)
    done = cli("rank", "--db", f"sqlite:///{junk}")
    assert done.returncode == 2
    assert "is not a usable SQLite database" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_everywhere_with_examples(command: str | None) -> None:
    done = cli(*([command] if command else []), "--help")
    assert done.returncode == 0 and "examples:" in done.stdout
    assert "130 interrupted" in done.stdout
    if command not in (None, "fleet", "demo", "prune"):  # those read no catalogue
        assert "--providers" in done.stdout and "--db" in done.stdout


def test_providers_lists_keys_without_values(tmp_path: Path) -> None:
    done = cli("providers", "--json", env={"GROQ_API_KEY": "gsk_secret_value_123456"})
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json_lines(done.stdout)}
    assert len(rows) >= 20
    assert rows["groq"]["key"] == "set" and "gsk_secret" not in done.stdout
    assert rows["cerebras"]["key"] == "no key: set CEREBRAS_API_KEY"
    check = cli("providers", "--check")
    assert check.returncode == 0 and "OK" in check.stdout


def test_keys_never_reach_the_store(run_fleet: Start, tmp_path: Path) -> None:
    _, path = run_fleet(sim("locked", key="other-key"), sim("fine"))
    db_file = tmp_path / "secret.db"
    cli("probe", "--once", "--tools", "--providers", str(path), "--db", f"sqlite:///{db_file}")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("secret.db*"))
    assert b"locked" in raw and FLEET_KEY.encode() not in raw


def test_prune_keeps_recent_probes(tmp_path: Path, db: str) -> None:
    now = datetime.now(UTC)
    store = Store(db)
    store.add([result("a", at=now - timedelta(days=40)), result("a", at=now)])
    store.close()
    done = cli("prune", "--older-than", "30d", "--db", db)
    assert done.returncode == 2 and "pass --yes" in done.stderr  # no terminal to ask on
    assert len(Store(db).samples(now - timedelta(days=400))) == 2
    done = cli("prune", "--older-than", "30d", "--dry-run", "--db", db)
    assert done.returncode == 0 and "a: 1 probe, the oldest from" in done.stdout
    assert len(Store(db).samples(now - timedelta(days=400))) == 2
    done = cli("prune", "--older-than", "30d", "--yes", "--db", db)
    assert done.returncode == 0 and "deleted 1 probe older than 30d" in done.stdout
    assert len(Store(db).samples(now - timedelta(days=400))) == 1


def test_demo_headless_runs_on_the_simulated_fleet() -> None:
    done = cli("demo", "--headless", "--seconds", "4", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "SIMULATED" in done.stdout and "sim-rocket" in done.stdout


def test_fleet_command_serves_a_catalogue(tmp_path: Path, db: str) -> None:
    catalogue = tmp_path / "sim.yaml"
    fleet = subprocess.Popen(
        [sys.executable, "-m", "monitor", "fleet", "--write-providers", str(catalogue)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fleet.stdout is not None
        deadline = time.monotonic() + 30
        lines = []
        while "Ctrl-C" not in "".join(lines) and time.monotonic() < deadline:
            lines.append(fleet.stdout.readline())
        assert catalogue.exists(), lines
        done = cli("probe", "--once", "--only", "sim-rocket", "--providers", str(catalogue),
                   "--db", db, env={"OSS_FLEET_KEY": "sim-demo-key-0000"})  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        fleet.terminate()
        fleet.wait(timeout=10)
