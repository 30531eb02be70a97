"""`probe --once --quality` checks one answer per endpoint; `rank` shows the accuracy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.sim.fleet import FleetServer
from tests.e2e.test_cli import cli
from tests.helpers import json_lines, sim

Start = Callable[..., tuple[FleetServer, Path]]


def test_probe_quality_then_rank(run_fleet: Start, tmp_path: Path) -> None:
    server, path = run_fleet(sim("careful"), sim("sloppy", quality={"wrong": 1.0}))
    common = ["--providers", str(path), "--db", str(tmp_path / "probes.db")]
    for _ in range(3):
        done = cli("probe", "--once", "--quality", "--json", *common)
        assert done.returncode == 0, done.stderr
    round_ = json_lines(done.stdout)
    checked = {r["id"]: r["quality"] for r in round_ if r["kind"] == "quality"}
    assert checked["careful"]["passed"] and not checked["sloppy"]["passed"]
    assert server.fleet.request_counts() == {"careful": 6, "sloppy": 6}  # chat + quality
    ranked = {r["id"]: r for r in json_lines(cli("rank", "--json", *common).stdout)}
    assert ranked["careful"]["quality"]["text"] == "100% of 3, 95% CI 44-100"
    assert ranked["sloppy"]["quality"]["passed"] == 0
    assert ranked["careful"]["samples"] == 3  # chat probes only
    table = cli("rank", *common).stdout
    assert "quality" in table and "0% of 3" in table
    note = cli("probe", "--once", "--quality", "--only", "sloppy", *common).stdout
    assert "expected" in note and "got" in note
