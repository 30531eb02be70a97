"""Several probers, one store: compare and filter by prober; budgets are shared."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.sim.fleet import FleetServer
from tests.e2e.test_cli import cli
from tests.helpers import json_lines, sim

Start = Callable[..., tuple[FleetServer, Path]]


def test_compare_and_filter_by_prober(run_fleet: Start, db_url: str) -> None:
    _, path = run_fleet(sim("groq-like", ttft_ms={"mean": 30}))
    common = ["--providers", str(path), "--db", db_url]
    for prober, region in (("eu-1", "eu-west"), ("us-1", "us-east"), ("us-1", "us-east")):
        done = cli("probe", "--once", "--prober", prober, "--region", region, *common)
        assert done.returncode == 0, done.stderr
    rows = json_lines(cli("rank", "--by-prober", "--json", "--window", "15m", *common).stdout)
    seen = {(r["id"], r["prober"], r["region"], r["samples"]) for r in rows}
    assert seen == {("groq-like", "eu-1", "eu-west", 1), ("groq-like", "us-1", "us-east", 2)}
    only_eu = json_lines(cli("rank", "--prober", "eu-1", "--json", *common).stdout)
    assert only_eu[0]["samples"] == 1
    everyone = json_lines(cli("rank", "--json", *common).stdout)
    assert everyone[0]["samples"] == 3
    table = cli("rank", "--by-prober", "--window", "15m", *common).stdout
    assert "us-east" in table and "eu-west" in table


def test_probers_share_one_budget(run_fleet: Start, db_url: str) -> None:
    server, path = run_fleet(sim("free-tier", quota={"rpd": 40}))  # 5% of 40 = 2 a day
    common = ["--providers", str(path), "--db", db_url]
    for prober in ("a", "b", "c", "d"):
        cli("probe", "--once", "--prober", prober, *common)
    assert server.fleet.request_counts() == {"free-tier": 2}
