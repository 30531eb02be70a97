"""API keys stay secret: not in outputs, files, argv or errors; sent only to their own host."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

from monitor.catalog import Endpoint
from monitor.core.models import ProbeSettings
from monitor.scheduler import ScheduleSettings, open_scheduler
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.helpers import FLEET_KEY, sim
from tests.reliability.conftest import Spawn, wait_until

Start = Callable[..., tuple[FleetServer, Path]]


def test_key_never_appears_in_outputs_files_or_argv(
    run_fleet: Start, spawn: Spawn, tmp_path: Path
) -> None:
    # "echo" rejects our key and echoes it back in its 401 body, as real providers do.
    _, path = run_fleet(sim("echo", key="sim-other-key-000000000"), sim("html", mode="html"),
                        sim("cut", mode="cut"), sim("healthy"))  # fmt: skip
    common = ("--providers", str(path), "--db", f"sqlite:///{tmp_path / 'secrets.db'}")
    runs = [
        spawn("probe", "--once", "--json", *common),
        spawn("probe", "--once", "--tools", *common),
    ]
    for run in runs:
        assert run.wait() == 0, run.stderr()
    runs += [spawn("rank", *common), spawn("rank", "--json", *common)]
    continuous = spawn("probe", "--interval", "60", *common)
    runs.append(continuous)
    wait_until(lambda: "auth" in continuous.stdout(), 30, "the continuous prober's 401")
    argv = Path(f"/proc/{continuous.process.pid}/cmdline").read_bytes()
    continuous.process.send_signal(signal.SIGINT)
    for run in runs:
        assert run.wait() in (0, 130), run.stderr()
    assert "Invalid API key provided: ***" in runs[0].stdout()  # the echo was there, redacted
    assert b"probe" in argv and FLEET_KEY.encode() not in argv
    for run in runs:
        assert FLEET_KEY not in run.stdout() + run.stderr()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("secrets.db") for p in written)
    for file in written:  # the store (and its WAL), the outputs, the catalogue
        assert FLEET_KEY.encode() not in file.read_bytes(), file


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_authorization_goes_only_to_the_endpoints_own_host(tmp_path: Path) -> None:
    keys = {"A_KEY": "sk-aaaaaaaaaaaaaaaaaaaa", "B_KEY": "sk-bbbbbbbbbbbbbbbbbbbb"}
    endpoints = [
        Endpoint(id="a", name="A", base_url="https://a.test/v1", model="m", api_key_env="A_KEY"),
        Endpoint(id="b", name="B", base_url="https://b.test/v1", model="m", api_key_env="B_KEY"),
        Endpoint(id="local", name="Local", base_url="http://local.test/v1", model="m"),
    ]
    body = b'data: {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n'
    store = Store(f"sqlite:///{tmp_path / 'auth.db'}")
    settings = ProbeSettings(connect_s=2, first_token_s=2, total_s=4)
    with respx.mock(assert_all_mocked=True) as mock:
        routes = {
            e.id: mock.post(f"{e.base_url}/chat/completions").mock(
                return_value=httpx.Response(
                    200, content=body, headers={"content-type": "text/event-stream"}
                )
            )
            for e in endpoints
        }
        async with open_scheduler(endpoints, store, keys, settings, ScheduleSettings()) as sched:
            outcomes = await sched.round()
    store.close()
    assert all(o.result is not None and o.result.ok for o in outcomes)
    sent = {eid: [c.request.headers.get("authorization") for c in r.calls]
            for eid, r in routes.items()}  # fmt: skip
    assert sent == {"a": [f"Bearer {keys['A_KEY']}"], "b": [f"Bearer {keys['B_KEY']}"],
                    "local": [None]}  # fmt: skip


def test_the_cli_takes_no_key_on_the_command_line(spawn: Spawn) -> None:
    """Keys come from the environment only, so they never show in `ps`."""
    for command in ("probe", "dashboard", "rank", "export"):
        run = spawn(command, "--help")
        assert run.wait() == 0
        options = run.stdout().lower()
        assert "--key" not in options and "--api-key" not in options and "--token" not in options
