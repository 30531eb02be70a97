"""The real coding tools against the simulated fleet: fixtures to find them, export, and run them.

`tests/tools/install.sh` (run by .ci/run) installs pinned versions into .tools/ and records each
outcome in .tools/status/<tool>; a tool that is not installed is SKIPPED with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.catalog import load_catalog
from monitor.router import Router, RouterServer, RouterSettings
from monitor.sim.fleet import FLEET_KEY_ENV, FleetProfile, FleetServer, catalogue_yaml
from monitor.store import Store
from tests.helpers import FLEET_KEY, sim

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
RUN_TIMEOUT_S = 120  # one prompt; the fleet answers in milliseconds, tools start in seconds
ANSWER = "word0 word1 word2"  # what the fleet answers a plain prompt with
PROMPT = "Say hello in one short sentence."
# The sim endpoint's id is one Codex's writer accepts (it needs a Responses API endpoint).
ENDPOINT = "groq"
BINARIES = {
    "opencode": "opencode/node_modules/.bin/opencode",
    "kilo": "kilo/node_modules/.bin/kilo",
    "continue": "continue/node_modules/.bin/cn",
    "codex": "codex/node_modules/.bin/codex",
    "qwen": "qwen/node_modules/.bin/qwen",
    "aider": "aider-venv/bin/aider",
    "claude": "claude/node_modules/.bin/claude",
}


def binary(tool: str) -> Path:
    """The installed tool, or a skip that says why it is not there."""
    status = TOOLS / "status" / tool
    if not status.exists():
        pytest.skip(f"{tool} is not installed: run tests/tools/install.sh")
    outcome = status.read_text(encoding="utf-8").strip()
    if outcome != "ok":
        pytest.skip(f"{tool} could not be installed: {outcome}")
    path = TOOLS / BINARIES[tool]
    if not os.access(path, os.X_OK):
        pytest.skip(f"{tool} was installed but {path} is missing")
    return path


@dataclass
class Fleet:
    server: FleetServer
    catalogue: Path

    def requests(self) -> int:
        return self.server.fleet.request_counts()[ENDPOINT]


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    endpoint = sim(ENDPOINT, name="Sim Groq (simulated)")
    profile = FleetProfile(api_key=FLEET_KEY, seed=7, endpoints=[endpoint])
    with FleetServer(profile) as server:
        catalogue = tmp_path_factory.mktemp("fleet") / "providers.yaml"
        catalogue.write_text(catalogue_yaml(profile, server.base_url))
        yield Fleet(server, catalogue)


@pytest.fixture(scope="session")
def router_url(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`oss-monitor router` on the fleet (in a thread); its /v1 URL."""
    env = {FLEET_KEY_ENV: FLEET_KEY}
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('router') / 'probes.db'}")
    router = Router(load_catalog(str(fleet.catalogue), env=env), store, env, RouterSettings())
    with RouterServer(router) as server:
        yield server.url
    store.close()


@dataclass
class Run:
    returncode: int
    output: str  # stdout and stderr together, as a user would see them


@dataclass
class Home:
    """A scratch HOME with a work folder; the environment a tool runs in (nothing of ours)."""

    path: Path
    fleet: Fleet

    @property
    def work(self) -> Path:
        return self.path / "work"

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            "HOME": str(self.path),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "CI": "1",
            FLEET_KEY_ENV: FLEET_KEY,
        }
        return {**base, **extra}

    def export(self, tool: str, *args: str) -> str:
        """`oss-monitor export TOOL` into this HOME; its output (it must succeed)."""
        argv = [
            sys.executable,
            "-m",
            "monitor",
            "export",
            tool,
            "--providers",
            str(self.fleet.catalogue),
            "--db",
            f"sqlite:///{self.path / 'probes.db'}",
            *args,
        ]
        done = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def run(self, argv: list[str | Path], **env: str) -> Run:
        """The tool, non-interactive, stdin closed, killed after RUN_TIMEOUT_S."""
        try:
            done = subprocess.run(
                [str(a) for a in argv],
                cwd=self.work,
                env=self.env(**env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=RUN_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            tail = (exc.output or b"")[-2000:]
            pytest.fail(f"{argv[0]} did not finish in {RUN_TIMEOUT_S} s; last output: {tail!r}")
        return Run(done.returncode, done.stdout)


@pytest.fixture
def home(tmp_path: Path, fleet: Fleet) -> Home:
    (tmp_path / "home" / "work").mkdir(parents=True)
    return Home(tmp_path / "home", fleet)


Answered = Callable[[Run, int], None]


@pytest.fixture
def answered(fleet: Fleet) -> Answered:
    """Assert the tool printed the fleet's answer and the fleet saw more requests than before."""

    def check(run: Run, requests_before: int) -> None:
        assert run.returncode == 0, run.output[-3000:]
        assert ANSWER in run.output, run.output[-3000:]
        assert fleet.requests() > requests_before

    return check
