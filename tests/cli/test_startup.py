"""Start-up runs without the cyclic collector; long-running commands get it back."""

import gc
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from monitor.cli import main
from monitor.cli.startup import collector_off, started


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    yield
    gc.enable()


def test_the_collector_is_off_during_start_up_and_on_again_after_main() -> None:
    with collector_off():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_started_turns_the_collector_on_again() -> None:
    with collector_off():
        started()
        assert gc.isenabled()


def test_continuous_probing_runs_with_the_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def run(*_args: object) -> None:
        seen.append(gc.isenabled())

    monkeypatch.setattr(anyio, "run", run)
    providers = Path(__file__).parents[2] / "providers.yaml"
    db = f"sqlite:///{tmp_path / 'probes.db'}"
    assert main(["probe", "--providers", str(providers), "--db", db]) == 0
    assert seen == [True]
