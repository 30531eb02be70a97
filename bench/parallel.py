"""Parallelism: one probe round over N endpoints that each take 1 s.

    python bench/parallel.py [--sizes 200 1000] [--runs 3]
Targets: 200 endpoints in <= 1.5 s of wall time, 1,000 in <= 3 s (sequential: N seconds).
The fleet runs in its own process, so it does not share the prober's GIL. The anchor: curl
sending the same requests all at once in one process (`-Z`), right after each round.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import anyio
from accuracy import curl_round
from common import fleet, fleet_env, header, median, sim

from monitor.catalog import load_catalog
from monitor.core.models import ProbeSettings
from monitor.scheduler import ScheduleSettings, open_scheduler
from monitor.store import Store


def one_second_endpoints(count: int) -> list[dict[str, object]]:
    return [
        sim(f"e{i:04d}", 1000, tokens_per_s=2000, reasoning_tokens=0, output_tokens=4)
        for i in range(count)
    ]


async def timed_round(catalogue: Path, db: Path) -> tuple[float, int]:
    """Wall seconds of one `Scheduler.round`, and how many probes came back ok."""
    endpoints = load_catalog(str(catalogue)).enabled()
    settings = ScheduleSettings(concurrency=len(endpoints), prober="bench")
    store = Store(f"sqlite:///{db}")
    async with open_scheduler(endpoints, store, fleet_env(), ProbeSettings(), settings) as sched:
        began = time.perf_counter()
        outcomes = await sched.round()
        wall = time.perf_counter() - began
    store.close()
    return wall, sum(1 for o in outcomes if o.result is not None and o.result.ok)


def run(size: int, runs: int, folder: Path) -> tuple[float, int]:
    """Median wall seconds over `runs` rounds (each with a fresh client), and ok probes."""
    wall, ok, _ = run_with_anchor(size, runs, folder, curl=False)
    return wall, ok


def run_with_anchor(
    size: int, runs: int, folder: Path, curl: bool = True
) -> tuple[float, int, float]:
    """`run`, and the median ratio of each round to curl's round just after it (the anchor)."""
    walls, oks, ratios = [], [], []
    with fleet(one_second_endpoints(size), folder) as catalogue:
        for i in range(runs):
            wall, ok = anyio.run(timed_round, catalogue, folder / f"round-{i}.db")
            walls.append(wall)
            oks.append(ok)
            if curl:
                ratios.append(wall / (curl_round(catalogue) / 1000))
    return median(walls), min(oks), median(ratios) if ratios else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    header("parallelism: one round, every endpoint takes 1 s")
    targets = {200: 1.5, 1000: 3.0}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            curl = bool(shutil.which("curl"))
            wall, ok, ratio = run_with_anchor(size, args.runs, Path(tmp), curl)
        target = f"target <= {targets[size]:g} s" if size in targets else ""
        print(f"{size:>5} endpoints: {wall:.2f} s wall (median of {args.runs}), {ok}/{size} ok, "
              f"{ratio:.2f}x curl -Z on the same round   {target}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
