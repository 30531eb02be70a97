"""Helpers to run the real CLI as background processes writing to files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import FLEET_KEY


class Prober:
    """`python -m monitor ARGS` in the background; its stdout and stderr go to files."""

    def __init__(self, folder: Path, name: str, args: tuple[str, ...], env: dict[str, str]):
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.err"
        full_env = {**os.environ, "OSS_FLEET_KEY": FLEET_KEY, **env}
        full_env.pop("OSS_MONITOR_PROVIDERS", None)
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor", *args],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env,
            )  # fmt: skip

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)


Spawn = Callable[..., Prober]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    started: list[Prober] = []

    def start(*args: str, name: str = "", env: dict[str, str] | None = None) -> Prober:
        prober = Prober(tmp_path, name or f"run-{len(started)}", args, env or {})
        started.append(prober)
        return prober

    yield start
    for prober in started:  # a failed test must not leave probers running
        if prober.process.poll() is None:
            prober.process.kill()
            prober.process.wait(timeout=10)


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition with a deadline (the processes we wait on cannot signal us)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
