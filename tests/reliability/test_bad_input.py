"""Bad input: nonsense arguments and a store that is full or from an older version.

Every case ends in one clear sentence (exit status 2 at the CLI), never a traceback.
Broken catalogues, corrupt, read-only and newer-schema stores are in tests/catalog and tests/store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from monitor.cli import main
from monitor.sim.fleet import FLEET_KEY_ENV, FleetServer
from monitor.store import SCHEMA_VERSION, Claim, Store, StoreError
from tests.helpers import FLEET_KEY, result, sim

Start = Callable[..., tuple[FleetServer, Path]]
FULL = "the disk holding .* is full; free some space or pass another --db"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    try:
        code: int | str | None = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.fixture
def offline(tmp_path: Path) -> list[str]:
    """A catalogue whose one endpoint needs a key nobody set: nothing is ever sent."""
    path = tmp_path / "offline.yaml"
    path.write_text(
        "providers:\n  - {id: offline, name: Offline, base_url: 'http://127.0.0.1:9/v1', "
        "model: m, api_key_env: OSS_MONITOR_TEST_UNSET_KEY}\n"
    )
    return ["--providers", str(path), "--db", f"sqlite:///{tmp_path / 'bad.db'}"]


NONSENSE = [
    (["rank", "--window", ""], "is not a duration"),
    (["rank", "--window=-1h"], "is not a duration"),
    (["rank", "--window", "1 fortnight"], "is not a duration"),
    (["dashboard", "--window", "soon"], "is not a duration"),
    (["prune"], "the following arguments are required: --older-than"),
    (["prune", "--older-than", "yesterday"], "is not a duration"),
    (["probe", "--once", "--concurrency", "0"], "must be greater than zero"),
    (["probe", "--once", "--concurrency", "2.5"], "'2.5' is not a number"),
    (["probe", "--once", "--timeout", "-1"], "'-1' is not a duration"),
    (["probe", "--once", "--timeout", "0"], "'0' is not a duration"),
    (["probe", "--once", "--budget", "0"], "must be greater than zero"),
    (["probe", "--once", "--interval", "abc"], "'abc' is not a duration"),
    (["probe", "--once", "--only"], "expected at least one argument"),
    (["probe", "--once", "--only", "offline", "nope"], "unknown endpoint id nope"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "needle"), NONSENSE, ids=[" ".join(a) for a, _ in NONSENSE])
def test_nonsense_arguments(
    args: list[str], needle: str, offline: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    takes_files = args[0] not in ("frobnicate",)
    code, err = run_cli([*args, *offline] if takes_files else args, capsys)
    assert code == 2 and needle in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("url", ["nosuchdb://x", "sqlite+nodriver:///x.db"])
def test_a_store_url_that_is_not_one(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(["rank", "--db", url], capsys)
    assert code == 2
    assert err == "oss-monitor: the store URL is not a SQLAlchemy URL; use e.g. " \
                  "--db sqlite:///probes.db\n"  # fmt: skip


@pytest.mark.parametrize("args", [["--timeout", "nan"], ["--prober", "x" * 80]])
def test_values_the_settings_refuse(
    args: list[str], offline: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["probe", "--once", *args, *offline], capsys)
    assert code == 2 and "Traceback" not in err


@contextmanager
def full_disk() -> Iterator[None]:
    """Every write fails the way SQLite fails when the disk is full (reads still work)."""

    def refuse(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")

    for name in ("do_execute", "do_executemany"):
        event.listen(Engine, name, refuse)
    try:
        yield
    finally:
        for name in ("do_execute", "do_executemany"):
            event.remove(Engine, name, refuse)


def test_full_disk_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    store = Store(url)
    store.add([result("a") for _ in range(5)])
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with full_disk():
        with pytest.raises(StoreError, match=FULL):
            store.add([result("a") for _ in range(5)])
        with pytest.raises(StoreError, match=FULL):
            store.reserve([Claim("a", "chat", "test", datetime.now(UTC))])
        assert len(store.samples(hour_ago)) == 5  # reads go on; no half-written batch
    store.add([result("a") for _ in range(5)])  # space is back: writing resumes
    assert len(store.samples(hour_ago)) == 10
    with sqlite3.connect(tmp_path / "full.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    store.close()


def test_full_disk_during_a_round_is_exit_2(
    run_fleet: Start,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, path = run_fleet(sim("healthy"))
    monkeypatch.setenv(FLEET_KEY_ENV, FLEET_KEY)
    db = f"sqlite:///{tmp_path / 'full-cli.db'}"
    Store(db).close()  # the disk fills up after the store was made
    with full_disk():
        code, err = run_cli(["probe", "--once", "--providers", str(path), "--db", db], capsys)
    assert code == 2 and "is full; free some space" in err
    assert server.fleet.request_counts() == {"healthy": 0}  # no slot taken, nothing sent


def make_old_store(path: Path, version: int, drop: str) -> None:
    """A store as an older oss-monitor left it: one column fewer, an older schema version."""
    store = Store(f"sqlite:///{path}")
    store.add([result("a"), result("a", ok=False)])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"ALTER TABLE {drop}")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


def test_schema_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_old_store(path, 1, "rollup_hour DROP COLUMN hist")
    store = Store(f"sqlite:///{path}")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert [s.ok for s in store.samples(hour_ago)] == [True, False]  # old probes are kept
    store.add([result("a")])
    assert len(store.samples(hour_ago)) == 3
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchall() == [(str(SCHEMA_VERSION),)]


def test_store_missing_a_column_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "v0.db"
    make_old_store(path, 0, "probe DROP COLUMN rate_limit")
    with pytest.raises(StoreError, match=r"rate_limit.*pass another --db"):
        Store(f"sqlite:///{path}").add([result("a")])
