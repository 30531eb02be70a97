"""The real coding clients through the router: Claude Code (Anthropic Messages) and Codex
(OpenAI Responses), configured by our own export, against the simulated fleet.

tests/tools/install.sh (run by .ci/run) installs them from npm into .tools/; when it could not
(offline, no npm), these tests skip and say why. The clients run with a throwaway
HOME, telemetry, update checks and non-essential traffic off; the answer must be the fleet's.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.export import apply_export, plan_export
from monitor.sim.fleet import FleetServer
from monitor.store import Store
from tests.e2e.test_router import routing, traffic
from tests.helpers import eventually, sim
from tests.tools.conftest import binary

Start = Callable[..., tuple[FleetServer, Path]]
TOKEN = "tok-real-client-5150"
ANSWER = "word0 word1 word2"  # what the simulated fleet says


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def router_url(run_fleet: Start, store: Store) -> Iterator[str]:
    _, catalogue = run_fleet(sim("only"))
    with routing(catalogue, store, token=TOKEN) as url:
        yield url


def quiet_env(home: Path) -> dict[str, str]:
    """No key of the user's, no telemetry, no update check, nothing but the router."""
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "OSS_MONITOR_ROUTER_TOKEN": TOKEN,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CODEX_HOME": str(home / ".codex"),
    }


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=150,
    )
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_claude_code_says_hi_through_the_router(home: Path, router_url: str, store: Store) -> None:
    claude = binary("claude")
    env = quiet_env(home)
    apply_export(plan_export("claude-code", None, env=env, router_url=router_url), env=env)
    assert ANSWER in run([str(claude), "-p", "say hi"], env, home)
    # the fleet answered, through the router
    assert eventually(lambda: ("only", True, None) in traffic(store))


def test_codex_says_hi_through_the_router(home: Path, router_url: str, store: Store) -> None:
    codex = binary("codex")
    env = quiet_env(home)
    apply_export(plan_export("codex", None, env=env, router_url=router_url), env=env)
    command = [
        str(codex),
        "exec",
        "--skip-git-repo-check",
        "-c",
        "check_for_update_on_startup=false",
        "-c",
        "analytics.enabled=false",
        "say hi",
    ]
    assert ANSWER in run(command, env, home)
    assert eventually(lambda: ("only", True, None) in traffic(store))
