"""Shared by the bench scripts: the machine report, statistics, a fleet in its own process."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

FLEET_KEY = "sim-bench-key-0000"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def header(title: str) -> None:
    print(f"# {title}\nmachine: {machine()}\n", flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def sim(endpoint_id: str, ttft_ms: float, **extra: Any) -> dict[str, Any]:
    """A simulated endpoint with a fixed (jitter-free) time to first token."""
    return {
        "id": endpoint_id,
        "name": endpoint_id,
        "headers_ms": {"mean": extra.pop("headers_ms", 2)},
        "ttft_ms": {"mean": ttft_ms},
        **extra,
    }


@contextmanager
def fleet(endpoints: list[dict[str, Any]], folder: Path) -> Iterator[Path]:
    """Run `oss-monitor fleet` in its own process (its own GIL); yields the catalogue path."""
    profile, catalogue = folder / "fleet-profile.yaml", folder / "fleet-providers.yaml"
    profile.write_text(yaml.safe_dump({"api_key": FLEET_KEY, "seed": 1, "endpoints": endpoints}))
    command = [sys.executable, "-m", "monitor", "fleet", "--profile", str(profile)]
    process = subprocess.Popen(
        [*command, "--write-providers", str(catalogue)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in process.stdout.readline():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the simulated fleet did not start")
        yield catalogue
    finally:
        process.terminate()
        process.wait(timeout=10)


def compiled() -> None:
    """Write the package's bytecode, as an installed package has it: timings of start-up must
    not include compiling our own modules (PYTHONDONTWRITEBYTECODE would make every run pay)."""
    root = Path(__file__).resolve().parents[1] / "monitor"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root)], check=True)


def fleet_env() -> dict[str, str]:
    return {**os.environ, "OSS_FLEET_KEY": FLEET_KEY}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
