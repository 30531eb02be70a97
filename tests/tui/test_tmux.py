"""End to end: `oss-monitor demo` in a real terminal (tmux), read back from the screen."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import eventually

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
# An explicit environment: readline (imported by pytest) exports COLUMNS=80 and LINES=24 to
# child processes, which would pin the demo to 80x24 whatever the terminal's size.
ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


@pytest.fixture
def tmux() -> Iterator[Callable[..., str]]:
    """Run tmux commands on a private server, killed afterwards whatever happens."""
    socket = f"oss-monitor-test-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        # No user configuration: it could resize the window or rebind keys.
        tmux_args = ["tmux", "-L", socket, "-f", "/dev/null", *args]
        done = subprocess.run(tmux_args, capture_output=True, text=True, env=ENV)
        return done.stdout if done.returncode == 0 else ""

    yield run
    run("kill-server")


def test_demo_in_a_real_terminal(tmux: Callable[..., str]) -> None:
    command = f"{sys.executable} -m monitor demo --interval 2"
    tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "40", command)
    screen = ""

    def ranked() -> bool:
        nonlocal screen
        screen = tmux("capture-pane", "-p", "-t", "demo")
        return "SIMULATED" in screen and "● up" in screen and "sim-rocket" in screen

    assert eventually(ranked, 30), f"the demo never showed a ranking:\n{screen}"
    assert "sim-no-key" in screen and "set SIM_UNSET_API" in screen, screen
    assert "probing ≥" in screen
    tmux("send-keys", "-t", "demo", "q")
    assert eventually(lambda: not tmux("has-session", "-t", "demo"), 15), "q did not quit"


def demo_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("oss-monitor-demo-*"))


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm", "hang-up"])
def test_the_demo_stops_cleanly(tmux: Callable[..., str], stop: str) -> None:
    """Ctrl-C, SIGTERM, or the terminal closing (tmux killed: SIGHUP, then every write fails)."""
    before = demo_folders()
    command = f"{sys.executable} -m monitor demo --interval 2"
    tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "40", command)
    assert eventually(lambda: "sim-rocket" in tmux("capture-pane", "-p", "-t", "demo"), 30)
    (ours,) = demo_folders() - before
    pid = int(tmux("list-panes", "-t", "demo", "-F", "#{pane_pid}").split()[0])
    if stop == "ctrl-c":
        tmux("send-keys", "-t", "demo", "C-c")
    elif stop == "sigterm":
        os.kill(pid, signal.SIGTERM)
    else:
        tmux("kill-server")
    assert eventually(lambda: not tmux("has-session", "-t", "demo"), 15), f"{stop} did not quit"
    try:
        assert eventually(lambda: not running(pid), 15), f"the demo outlived {stop}"
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    assert eventually(lambda: not ours.exists(), 10), "the demo's folder was left behind"


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
