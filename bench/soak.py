"""Soak: continuous probing of 200 fleet endpoints; memory, file descriptors, nothing lost.

    python bench/soak.py [--minutes 30] [--endpoints 200] [--interval 5]
Targets: RSS growth <= 10 MB (after a warm-up of a fifth of the run, at most 2 min), no growth
in open file descriptors, every probe the fleet answered stored in the database.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from common import cpu_seconds, fleet, fleet_env, header, open_fds, rss_mb, sim

OURS = str(Path(sys.executable).parent / "oss-monitor")


def run(minutes: float, endpoints: int, interval: float, folder: Path) -> dict[str, Any]:
    profile = [sim(f"e{i:03d}", 200, tokens_per_s=500) for i in range(endpoints)]
    db = folder / "soak.db"
    with fleet(profile, folder) as catalogue:
        command = [OURS, "probe", "--providers", str(catalogue), "--db", f"sqlite:///{db}",
                   "--interval", str(interval), "--concurrency", str(endpoints)]  # fmt: skip
        prober = subprocess.Popen(
            command,
            env=fleet_env(),
            stdout=subprocess.DEVNULL,
            # Background jobs of a script inherit an ignored SIGINT; Ctrl-C must reach it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        began = time.monotonic()
        warm = began + min(120.0, minutes * 60 / 5)
        baseline: tuple[float, int] | None = None
        peak_rss, peak_fds = 0.0, 0
        try:
            while time.monotonic() - began < minutes * 60:
                time.sleep(min(5.0, minutes * 60 / 10))
                rss, fds = rss_mb(prober.pid), open_fds(prober.pid)
                if baseline is None and time.monotonic() >= warm:
                    baseline = (rss, fds)
                peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
            final = (rss_mb(prober.pid), open_fds(prober.pid))
            cpu = cpu_seconds(prober.pid) / (time.monotonic() - began)
        finally:
            prober.send_signal(signal.SIGINT)
            prober.wait(timeout=30)
        base_url = yaml.safe_load(catalogue.read_text())["providers"][0]["base_url"]
        served = sum(httpx.get(base_url.rsplit("/", 2)[0] + "/_fleet/log").json().values())
    with sqlite3.connect(db) as conn:
        stored, unfinished = conn.execute(
            "SELECT count(ok), count(*) - count(ok) FROM probe"
        ).fetchone()
    baseline = baseline or final
    return {
        "rss_start": baseline[0], "rss_end": final[0], "rss_peak": peak_rss,
        "fds_start": baseline[1], "fds_end": final[1], "fds_peak": peak_fds,
        "served": served, "stored": stored, "unfinished": unfinished, "cpu": cpu,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5, help="seconds between probes")
    args = parser.parse_args()
    header(f"soak: {args.minutes:g} min of probing {args.endpoints} endpoints")
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.minutes, args.endpoints, args.interval, Path(tmp))
    print(f"RSS after warm-up -> end: {r['rss_start']:.1f} -> {r['rss_end']:.1f} MB "
          f"(growth {r['rss_end'] - r['rss_start']:+.1f} MB, peak {r['rss_peak']:.1f}; "
          f"target <= +10 MB)")  # fmt: skip
    print(f"open fds after warm-up -> end: {r['fds_start']} -> {r['fds_end']} "
          f"(peak {r['fds_peak']}; target: no growth)")  # fmt: skip
    print(f"probes answered by the fleet: {r['served']}, stored finished: {r['stored']}, "
          f"cut off in flight at stop: {r['unfinished']}")  # fmt: skip
    lost = r["served"] - r["stored"] - r["unfinished"]
    print(f"lost probes: {max(lost, 0)} (target 0); prober CPU {r['cpu']:.0%} of one core")


if __name__ == "__main__":
    main()
