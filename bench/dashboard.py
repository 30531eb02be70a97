"""Dashboard: CPU, memory and first frame of the TUI while probes land every 50 ms.

    python bench/dashboard.py [--seconds 60] [--endpoints 200]
Targets: under 15% of one core and 150 MB RSS; first frame <= 1.5 s from the command.
The dashboard itself probes 200 fleet endpoints every 10 s (one probe landing per 50 ms); it
runs in a pseudo-terminal (120 x 40) as a user would start it.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

from common import cpu_seconds, fleet, fleet_env, header, rss_mb, sim

OURS = str(Path(sys.executable).parent / "oss-monitor")


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


def run(seconds: float, endpoints: int, folder: Path) -> dict[str, Any]:
    profile = [sim(f"e{i:03d}", 200, tokens_per_s=500) for i in range(endpoints)]
    interval = endpoints * 0.05  # one probe landing every 50 ms
    with fleet(profile, folder) as catalogue:
        main_fd, child_fd = pty.openpty()
        fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        command = [OURS, "dashboard", "--providers", str(catalogue),
                   "--db", f"sqlite:///{folder / 'dash.db'}", "--interval", str(interval),
                   "--concurrency", str(endpoints)]  # fmt: skip
        began = time.monotonic()
        app = subprocess.Popen(
            command, stdin=child_fd, stdout=child_fd, stderr=child_fd,
            env={**fleet_env(), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
            start_new_session=True,
        )  # fmt: skip
        os.close(child_fd)
        screen = Screen(main_fd, began)
        try:
            time.sleep(min(15.0, seconds / 4))  # warm-up: the first round of probes
            cpu0, t0, peak = cpu_seconds(app.pid), time.monotonic(), 0.0
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                peak = max(peak, rss_mb(app.pid))
            cpu = (cpu_seconds(app.pid) - cpu0) / (time.monotonic() - t0)
        finally:
            os.write(main_fd, b"q")
            try:
                app.wait(timeout=15)
            except subprocess.TimeoutExpired:
                app.terminate()
                app.wait(timeout=10)
            os.close(main_fd)
    return {"cpu": cpu, "rss_peak": peak, "first_frame": screen.first_frame}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--endpoints", type=int, default=200)
    args = parser.parse_args()
    header("dashboard under load")
    if importlib.util.find_spec("monitor.tui.app") is None:
        print("monitor/tui/app.py is not there yet: this bench needs the dashboard; skipped.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.seconds, args.endpoints, Path(tmp))
    frame = f"{r['first_frame']:.2f} s" if r["first_frame"] is not None else "not seen"
    print(f"first frame:  {frame} (target <= 1.5 s)")
    print(f"CPU:          {r['cpu']:.1%} of one core over {args.seconds:g} s (target < 15%)")
    print(f"RSS peak:     {r['rss_peak']:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
