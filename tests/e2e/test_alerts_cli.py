"""`probe --once` alerts across cron runs: down after N failures, recovered after M successes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from monitor.sim.fleet import FleetServer
from tests.e2e.test_cli import cli
from tests.helpers import sim

Start = Callable[..., tuple[FleetServer, Path]]


def test_alerts_fire_on_transitions_only(run_fleet: Start, tmp_path: Path) -> None:
    server, path = run_fleet(sim("steady"), sim("flip", fail_rate={"server": 1.0}))
    log = tmp_path / "alerts.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys\nopen({str(log)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ["probe", "--once", "--providers", str(path), "--db", db, "--down-after", "2",
            "--up-after", "2", "--alert-command", f"{sys.executable} {hook}"]  # fmt: skip

    def events() -> list[tuple[str, str]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [(json.loads(x)["event"], json.loads(x)["endpoint"]) for x in lines]

    first = cli(*args)
    assert first.returncode == 0 and events() == []  # one failure is a blip
    second = cli(*args)
    assert events() == [("down", "flip")]
    assert "alert: down flip: HTTP 500" in second.stderr
    cli(*args)
    assert events() == [("down", "flip")]  # still down: nobody is paged twice
    runtime = server.fleet.runtime["flip"]
    runtime.sim = runtime.sim.model_copy(update={"fail_rate": {}})
    cli(*args)
    assert events() == [("down", "flip")]  # one success is not a recovery yet
    cli(*args)
    assert events() == [("down", "flip"), ("recovered", "flip")]


def test_a_broken_webhook_is_reported_not_fatal(run_fleet: Start, tmp_path: Path) -> None:
    _, path = run_fleet(sim("dead", fail_rate={"server": 1.0}))
    db = f"sqlite:///{tmp_path / 'b.db'}"
    args = ["probe", "--once", "--providers", str(path), "--db", db, "--down-after", "1",
            "--alert-webhook", "http://127.0.0.1:9/hook"]  # fmt: skip
    done = cli(*args)
    assert done.returncode == 1  # the exit code still says what the round found
    assert "alert webhook http://127.0.0.1:9/hook failed" in done.stderr
    assert "Traceback" not in done.stderr
