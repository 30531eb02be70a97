"""CLI: `oss-monitor --help` time and peak memory beside the Node peer; `probe --once` rounds.

    python bench/cli_startup.py [--runs 15] [--no-peer]
Targets: --help <= 120 ms median and <= 40 MB peak; `probe --once` <= 250 ms beyond the
slowest endpoint; a round of 150 endpoints whose slowest takes 1.0 s, start-up included,
<= 1.8 s. The peer is free-coding-models from npm, installed into a temporary folder. The
anchor of a round is curl sending the same requests, all at once in one process (`-Z`), to
the same fleet in the same run.
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

from common import compiled, fleet, fleet_env, header, median, sim

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


def probe_once_overhead(folder: Path, runs: int, count: int = 20) -> tuple[float, float]:
    """Median (wall - slowest endpoint's total) in ms of `probe --once` over `count`
    endpoints, the slowest taking about 1 s, and that slowest total."""
    figures = probe_once(folder, runs, count, curl=False)
    return figures["overhead"], figures["slowest"]


def probe_once(folder: Path, runs: int, count: int, curl: bool = True) -> dict[str, float]:
    """Medians of `probe --once` over `count` endpoints (first tokens spread up to ~0.9 s):
    wall ms, ms beyond the slowest endpoint's total, and curl's wall for the same round."""
    endpoints = [
        sim(f"e{i:03d}", 50 + 850 * i / max(count - 1, 1), tokens_per_s=500) for i in range(count)
    ]
    # Imported here, after the --help figures: it loads the monitor, and a child forked from a
    # big process reports that process's pages in its own peak RSS.
    from accuracy import curl_round

    walls, overheads, curls, slowest = [], [], [], 0.0
    with fleet(endpoints, folder) as catalogue:
        for i in range(runs):
            db = f"sqlite:///{folder / f'once-{count}-{i}.db'}"
            command = [OURS, "probe", "--once", "--json", "--providers", str(catalogue)]
            wall, _, out = timed([*command, "--db", db], fleet_env())
            rows = [json.loads(line) for line in out.splitlines() if line.strip()]  # JSON Lines
            slowest = max(r["total_ms"] for r in rows)
            walls.append(wall)
            overheads.append(wall - slowest)
            if curl and shutil.which("curl"):
                curls.append(curl_round(catalogue))
    return {
        "wall": median(walls),
        "overhead": median(overheads),
        "slowest": slowest,
        "curl": median(curls) if curls else float("nan"),
        "ratio": median([w / c for w, c in zip(walls, curls, strict=False)]) if curls else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-peer", action="store_true", help="skip the Node peer")
    args = parser.parse_args()
    header("CLI start-up")
    compiled()
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
        for count in (20, 150):
            r = probe_once(Path(tmp), max(3, args.runs // 3), count)
            print(f"probe --once, {count:>3} endpoints: {r['wall']:5.0f} ms wall, "
                  f"{r['overhead']:4.0f} ms beyond the slowest ({r['slowest']:.0f} ms); curl -Z, "
                  f"same round: {r['curl']:5.0f} ms; ours/curl {r['ratio']:.2f}x")  # fmt: skip
    print("targets: <= 250 ms beyond the slowest; 150 endpoints <= 1800 ms wall")


if __name__ == "__main__":
    main()
