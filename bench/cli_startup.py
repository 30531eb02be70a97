"""CLI: `oss-monitor --help` time and peak memory beside the Node peer, `probe --once` overhead.

    python bench/cli_startup.py [--runs 15] [--no-peer]
Targets: --help <= 120 ms median and <= 40 MB peak; `probe --once` <= 300 ms beyond the
slowest endpoint. The peer is free-coding-models from npm, installed into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import fleet, fleet_env, header, median, sim

OURS = str(Path(sys.executable).parent / "oss-monitor")


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall ms, peak RSS MB, stdout) of one run, measured by the kernel for that child alone."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - began) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, out


def help_figures(command: list[str], runs: int) -> tuple[float, float]:
    timed(command)  # warm the file cache
    samples = [timed(command) for _ in range(runs)]
    return median([s[0] for s in samples]), max(s[1] for s in samples)


def install_peer(folder: Path) -> list[str] | None:
    if shutil.which("npm") is None:
        return None
    subprocess.run(
        ["npm", "i", "--silent", "--no-audit", "--no-fund", "free-coding-models"],
        cwd=folder, check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    return [str(folder / "node_modules" / ".bin" / "free-coding-models"), "--help"]


def probe_once_overhead(folder: Path, runs: int) -> tuple[float, float]:
    """Median (wall - slowest endpoint's total) in ms of `probe --once` over 20 endpoints."""
    endpoints = [sim(f"e{i:02d}", 50 + 50 * i, tokens_per_s=500) for i in range(20)]
    overheads, slowest = [], 0.0
    with fleet(endpoints, folder) as catalogue:
        for i in range(runs):
            db = f"sqlite:///{folder / f'once-{i}.db'}"
            command = [OURS, "probe", "--once", "--json", "--providers", str(catalogue)]
            wall, _, out = timed([*command, "--db", db], fleet_env())
            rows = [json.loads(line) for line in out.splitlines() if line.strip()]  # JSON Lines
            slowest = max(r["total_ms"] for r in rows)
            overheads.append(wall - slowest)
    return median(overheads), slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-peer", action="store_true", help="skip the Node peer")
    args = parser.parse_args()
    header("CLI start-up")
    ours = help_figures([OURS, "--help"], args.runs)
    print(f"oss-monitor --help:        {ours[0]:6.0f} ms median, {ours[1]:5.1f} MB peak "
          f"(targets <= 120 ms, <= 40 MB)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        command = None if args.no_peer else install_peer(Path(tmp))
        if command:
            peer = help_figures(command, args.runs)
            print(f"free-coding-models --help: {peer[0]:6.0f} ms median, {peer[1]:5.1f} MB peak")
            print(f"ratio ours/peer:           {ours[0] / peer[0]:6.2f} x time, "
                  f"{ours[1] / peer[1]:.2f} x memory")  # fmt: skip
        overhead, slowest = probe_once_overhead(Path(tmp), max(3, args.runs // 3))
    print(f"probe --once overhead:     {overhead:6.0f} ms beyond the slowest endpoint "
          f"({slowest:.0f} ms) (target <= 300 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
