"""Dashboard: first frame, CPU of the UI and of its prober, memory, while probes land every 50 ms.

    python bench/dashboard.py [--seconds 60] [--endpoints 200] [--runs 1] [--history 50]
Targets: UI process <= 10% of one core, RSS < 150 MB; first frame <= 1.0 s from the command.
The dashboard probes 200 fleet endpoints every 10 s (one probe landing per 50 ms) in a prober
process of its own; it runs in a pseudo-terminal (120 x 40) as a user would start it.
Anchors, measured in the same run: the first frame of a bare Textual app (the framework's
floor), and the CPU of the headless `oss-monitor probe` doing the same probing. `--history M`
starts both on a store already holding M minutes of such probes: a dashboard that has run a
while ranks from more rows than one just started.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import random
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import Popen
from typing import Any

from common import compiled, cpu_seconds, fleet, fleet_env, header, median, rss_mb, sim
from store_rank import results

from monitor.store import Store

OURS = str(Path(sys.executable).parent / "oss-monitor")


# A bare Textual app: the framework's own time to a first frame on this machine.
FLOOR_APP = """
from textual.app import App
from textual.widgets import Static
class Floor(App):
    def compose(self):
        yield Static("endpoint oss-monitor")
Floor().run()
"""


class Screen:
    """Drain the pseudo-terminal (a full one blocks the app) and note when the frame shows."""

    def __init__(self, fd: int, began: float):
        self.fd, self.began = fd, began
        self.first_frame: float | None = None
        self.seen = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            if self.first_frame is None:
                self.seen = (self.seen + chunk)[-200_000:]
                # The ranking table's header row: the first real frame is on screen.
                if b"endpoint" in self.seen and b"oss-monitor" in self.seen:
                    self.first_frame = time.monotonic() - self.began


@contextmanager
def in_terminal(command: list[str], env: dict[str, str]) -> Iterator[tuple[Popen[bytes], Screen]]:
    """Run `command` in a 120 x 40 pseudo-terminal; `q` quits it at the end."""
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    began = time.monotonic()
    app = subprocess.Popen(
        command, stdin=child_fd, stdout=child_fd, stderr=child_fd,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
        start_new_session=True,
    )  # fmt: skip
    os.close(child_fd)
    try:
        yield app, Screen(main_fd, began)
    finally:
        os.write(main_fd, b"q")
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.terminate()
            app.wait(timeout=10)
        os.close(main_fd)


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def floor_frame() -> float | None:
    with in_terminal([sys.executable, "-c", FLOOR_APP], dict(os.environ)) as (_, screen):
        deadline = time.monotonic() + 30
        while screen.first_frame is None and time.monotonic() < deadline:
            time.sleep(0.02)
    return screen.first_frame


def watch(pids: list[int], seconds: float) -> tuple[list[float], float]:
    """Each process's share of one core over `seconds`, and the first one's peak RSS."""
    before, began, peak = [cpu_seconds(p) for p in pids], time.monotonic(), 0.0
    while time.monotonic() - began < seconds:
        time.sleep(1)
        peak = max(peak, rss_mb(pids[0]))
    elapsed = time.monotonic() - began
    return [(cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before, strict=True)], peak


def fill(url: str, ids: list[str], interval: float, minutes: float) -> None:
    """The probes of the last `minutes`, one per endpoint every `interval` s, 1 in 10 of tools."""
    store, rng, now = Store(url), random.Random(1), datetime.now(UTC)
    rounds = int(minutes * 60 / interval)
    for i in range(rounds):
        store.add(results(ids, now - timedelta(seconds=interval * (rounds - i)), rng, i % 10 == 0))
    store.close()


def run(seconds: float, endpoints: int, folder: Path, history: float = 0) -> dict[str, Any]:
    ids = [f"e{i:03d}" for i in range(endpoints)]
    profile = [sim(endpoint_id, 200, tokens_per_s=500) for endpoint_id in ids]
    interval = endpoints * 0.05  # one probe landing every 50 ms
    for name in ("dash.db", "headless.db") if history else ():
        fill(f"sqlite:///{folder / name}", ids, interval, history)
    warm_up = min(15.0, seconds / 4)  # the first round of probes
    figures: dict[str, Any] = {"floor_frame": floor_frame()}
    with fleet(profile, folder) as catalogue:
        probing = ["--providers", str(catalogue), "--interval", str(interval),
                   "--concurrency", str(endpoints)]  # fmt: skip
        command = [OURS, "dashboard", *probing, "--db", f"sqlite:///{folder / 'dash.db'}"]
        with in_terminal(command, fleet_env()) as (app, screen):
            time.sleep(warm_up)
            prober = children(app.pid)[:1]
            cpu, figures["rss_peak"] = watch([app.pid, *prober], seconds)
            figures["cpu_ui"], figures["cpu_prober"] = cpu[0], (cpu[1:] or [None])[0]
            figures["prober_found"] = bool(prober)
        figures["first_frame"] = screen.first_frame
        # The anchor: the same probing by the headless prober, no UI.
        command = [OURS, "probe", *probing, "--db", f"sqlite:///{folder / 'headless.db'}"]
        headless = subprocess.Popen(command, env=fleet_env(), stdout=subprocess.DEVNULL)
        try:
            time.sleep(warm_up)
            (figures["cpu_headless"],), _ = watch([headless.pid], seconds)
        finally:
            headless.send_signal(signal.SIGINT)
            headless.wait(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--history", type=float, default=0, help="minutes of probes stored first")
    args = parser.parse_args()
    header("dashboard under load")
    compiled()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(run(args.seconds, args.endpoints, Path(tmp), args.history))

    def mid(key: str) -> float:
        values = [r[key] for r in runs if r[key] is not None]
        return median(values) if values else float("nan")

    def ratio(key: str, anchor: str) -> float:
        pairs = [r[key] / r[anchor] for r in runs if r[key] is not None and r[anchor]]
        return median(pairs) if pairs else float("nan")

    print(f"medians of {args.runs} run(s) of {args.seconds:g} s on a store holding "
          f"{args.history:g} min of probes; ratios are per run, then median")  # fmt: skip
    print(f"first frame:   {mid('first_frame'):.2f} s (target <= 1.0 s); a bare Textual app "
          f"{mid('floor_frame'):.2f} s: {ratio('first_frame', 'floor_frame'):.2f}x")  # fmt: skip
    print(f"CPU, UI:       {mid('cpu_ui'):.1%} of one core (target <= 10%); "
          f"{ratio('cpu_ui', 'cpu_headless'):.2f}x the headless prober's")  # fmt: skip
    print(f"CPU, prober:   {mid('cpu_prober'):.1%} of one core; "
          f"{ratio('cpu_prober', 'cpu_headless'):.2f}x the headless prober's")  # fmt: skip
    print(f"CPU, headless `oss-monitor probe`, same probing (anchor): {mid('cpu_headless'):.1%}")
    print(f"RSS peak (UI): {mid('rss_peak'):.0f} MB (target < 150 MB)")
    if not all(r["prober_found"] for r in runs):
        print("note: no prober process was found under the dashboard in some runs")


if __name__ == "__main__":
    main()
