"""What a new user trips over (issue 14): every mistake is one sentence and exit status 2.

Run through `monitor.cli.main` in this process (a traceback would fail the test by escaping),
except where a signal or a real terminal matters.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from tests.helpers import result

BadArgs = Callable[[Path, int], list[str]]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def profile(tmp: Path, text: str) -> str:
    path = tmp / "profile.yaml"
    path.write_text(text)
    return str(path)


def old_store(tmp: Path) -> str:
    """A store holding one probe from 40 days ago."""
    url = f"sqlite:///{tmp / 'old.db'}"
    store = Store(url)
    store.add([result("a", at=datetime.now(UTC) - timedelta(days=40))])
    store.close()
    return url


BROKEN_YAML = "endpoints: [x\n"
WRONG_VALUE = "endpoints:\n  - {id: Sim_1, name: S}\n"
# (arguments built from a temporary folder and a busy port, what the one sentence says)
MISTAKES: dict[str, tuple[BadArgs, str]] = {
    "fleet on a busy port": (lambda t, p: ["fleet", "--port", str(p)], "cannot listen on"),
    "fleet catalogue into a missing folder": (
        lambda t, p: ["fleet", "--write-providers", str(t / "nope" / "sim.yaml")],
        "the folder .*nope does not exist; create it first",
    ),
    "fleet catalogue onto a folder": (
        lambda t, p: ["fleet", "--write-providers", str(t)],
        "it is a folder; name a file",
    ),
    "fleet profile missing": (
        lambda t, p: ["fleet", "--profile", str(t / "none.yaml")],
        "cannot read the profile \\(No such file or directory\\)",
    ),
    "fleet profile broken YAML": (
        lambda t, p: ["fleet", "--profile", profile(t, BROKEN_YAML)],
        "profile.yaml:2: a \\[list\\] that is never closed",
    ),
    "fleet profile wrong value": (
        lambda t, p: ["fleet", "--profile", profile(t, WRONG_VALUE)],
        "endpoints.0.id: must be lowercase",
    ),
    "demo profile missing": (
        lambda t, p: ["demo", "--headless", "--profile", str(t / "none.yaml")],
        "cannot read the profile",
    ),
    "demo profile broken YAML": (
        lambda t, p: ["demo", "--headless", "--profile", profile(t, BROKEN_YAML)],
        "a \\[list\\] that is never closed",
    ),
    "demo profile wrong value": (
        lambda t, p: ["demo", "--headless", "--profile", profile(t, "endpoints: 3\n")],
        "endpoints: must be a list",
    ),
    "demo with a catalogue": (
        lambda t, p: ["demo", "--providers", "x.yaml"],
        "demo probes its own simulated catalogue",
    ),
    "metrics on a busy port": (
        lambda t, p: ["metrics", "--port", str(p), "--db", old_store(t)],  # it reads a store
        "cannot listen on 127.0.0.1:",
    ),
    "router on a busy port": (
        lambda t, p: ["router", "--port", str(p), "--db", f"sqlite:///{t / 'r.db'}"],
        "cannot listen on 127.0.0.1:",
    ),
    "catalogue missing": (
        lambda t, p: ["probe", "--once", "--providers", str(t / "none.yaml")],
        "none.yaml:1: no such file",
    ),
    "dashboard without a terminal": (
        lambda t, p: ["dashboard", "--db", f"sqlite:///{t / 'd.db'}"],
        "needs a terminal; .* `oss-monitor probe --once`",
    ),
    "dashboard options without the command": (
        lambda t, p: ["--window", "24h", "--db", f"sqlite:///{t / 'd.db'}"],
        "needs a terminal",
    ),
    "demo without a terminal": (lambda t, p: ["demo"], "`oss-monitor demo --headless`"),
    "prune without a terminal to ask on": (
        lambda t, p: ["prune", "--older-than", "30d", "--db", old_store(t)],
        "pass --yes",
    ),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_a_mistake_is_one_sentence_and_exit_2(
    case: str,
    tmp_path: Path,
    busy_port: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Some cases prune or write: never let them reach a real store or folder.
    monkeypatch.setenv("OSS_MONITOR_DB", f"sqlite:///{tmp_path / 'default.db'}")
    args, said = MISTAKES[case]
    code = main(args(tmp_path, busy_port))
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(said, err), err
    assert err.startswith("oss-monitor: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("argv", "usage", "said"),
    [
        (["probe", "--onec"], "usage: oss-monitor probe", "did you mean --once?"),
        (["--provders", "x"], "usage: oss-monitor dashboard", "did you mean --providers?"),
        (["rank", "--jsn"], "usage: oss-monitor rank", "did you mean --json?"),
        (["rank", "extra"], "usage: oss-monitor rank", "unknown argument extra"),
    ],
)
def test_a_mistyped_option_shows_its_command_and_a_suggestion(
    argv: list[str], usage: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert err.startswith(usage) and said in err, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert re.fullmatch(r"oss-monitor \d+\.\d+\.\d+\n", capsys.readouterr().out)


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere


def test_help_states_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    probe = help_of("probe", capsys)
    for default in ("(default: 60s)", "(default: 256)", "(default: 0.05)", "(default: 3)"):
        assert default in probe, default
    assert "not run by a shell" in probe  # --alert-command
    assert "(default: 15m)" in help_of("metrics", capsys)


def test_demo_help_lists_only_what_demo_takes(capsys: pytest.CaptureFixture[str]) -> None:
    demo = help_of("demo", capsys)
    assert "--providers" not in demo
    for default in ("(default: 5s)", "(default: 0.5)", "(default: 8s)", "a temporary one"):
        assert default in demo, default


def test_a_catalogue_of_another_model_gets_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(
        "model: llama-3-70b\nproviders:\n  - {id: a, name: A, base_url: 'http://x/v1', model: m}\n"
    )
    assert main(["providers", "--check", "--providers", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: the catalogue says `model: llama-3-70b`" in err


def test_demo_removes_its_folder_on_sigterm() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        # "probing N endpoints ..., storing in sqlite:///DIR/demo.db" (maybe wrapped)
        head = "".join(demo.stdout.readline() for _ in range(3))
        found = re.search(r"sqlite:///(\S+)/demo\.db", head.replace("\n", ""))
        assert found, head
        folder = Path(found.group(1))
        assert folder.is_dir()
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 130
        deadline = time.monotonic() + 10
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not folder.exists()
    finally:
        demo.kill()
        demo.wait()
