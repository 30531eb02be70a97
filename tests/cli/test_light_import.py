"""`oss-monitor --help` pays for argparse only: the heavy libraries load inside commands."""

import subprocess
import sys

HEAVY = ("textual", "sqlmodel", "sqlalchemy", "httpx", "starlette", "pydantic", "yaml")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = (
        "import sys, monitor.cli; monitor.cli.build_parser(); "
        "print(' '.join(sorted({m.split('.')[0] for m, v in sys.modules.items() if v})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert "monitor" in loaded  # the probe itself works
    assert [name for name in HEAVY if name in loaded] == []


def test_probe_once_as_json_lines_does_without_rich() -> None:
    """Cron's `probe --once --json` prints plain lines: no Rich console to import."""
    code = (
        "import sys; from monitor.cli import round; "
        "round.show_round([], lambda on_outcome: [], as_json=True); "
        "print('rich' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split()[-1] == "False"


def test_httpx_loads_without_its_command_line_client() -> None:
    """Whatever module imports httpx first, click, rich and pygments stay out (~50 ms)."""
    code = "import sys, monitor.probe; print(sorted({'click', 'pygments'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
