"""The bench scripts still run: each core function at a tiny size (figures are not checked)."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


Load = Callable[[str], ModuleType]


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Load:
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their sibling `common`
    return importlib.import_module


def test_store_rank(bench: Load, tmp_path: Path) -> None:
    figures = bench("store_rank").run(3, 40, tmp_path, repeats=1)
    assert figures["rows"] == 120 and figures["percentile_error"] < 0.05


def test_parallel(bench: Load, tmp_path: Path) -> None:
    _, ok = bench("parallel").run(3, 1, tmp_path)
    assert ok == 3


def test_accuracy(bench: Load, tmp_path: Path) -> None:
    curl = 1 if shutil.which("curl") else 0
    rows = bench("accuracy").run(2, curl, 3, tmp_path, injected=(20, 40))
    assert [r["injected"] for r in rows] == [20, 40]


def test_cli_startup(bench: Load, tmp_path: Path) -> None:
    module = bench("cli_startup")
    wall, peak = module.help_figures([module.OURS, "--help"], 1)
    assert wall > 0 and peak > 0
    _, slowest = module.probe_once_overhead(tmp_path, 1)
    assert slowest > 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_soak(bench: Load, tmp_path: Path) -> None:
    figures = bench("soak").run(0.05, 3, 1, tmp_path)
    assert figures["stored"] > 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, uses a pseudo-terminal")
def test_dashboard(bench: Load, tmp_path: Path) -> None:
    figures = bench("dashboard").run(1, 3, tmp_path)
    assert figures["rss_peak"] > 0


@pytest.mark.skipif(sys.platform != "linux", reason="pins cores, reads kernel stamps")
def test_measurement(bench: Load) -> None:
    found = bench("measurement").run(1, 3, with_hog=False)
    assert len(found["stamped"]["ttft"]) == 3 and len(found["clock-only"]["ttft"]) == 3


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_router_overhead(bench: Load) -> None:
    figures = bench("router_overhead").run([(1, 2), (3, 1)], 2, [], None)
    assert [f["ours"]["n"] for f in figures] == [2, 3]
    assert figures[1]["ours"]["cpu_per_100"] >= 0 and figures[1]["ours"]["rss"] > 0
