"""`oss-monitor web` in a real browser: headless Chromium from Debian's packages via Playwright.

The page renders the terminal on a canvas, so the test reads what the browser received over
its websocket (the dashboard's screen updates) and saves a screenshot of what it drew.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# Chromium in a closed network: no background traffic, no sandbox as root, no GPU.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
]  # fmt: skip


@pytest.fixture
def web_demo() -> Iterator[str]:
    """`oss-monitor web --demo` on a free loopback port, stopped when the test ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "web", "--demo", "--port", "0", "--token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("dashboard on http://127.0.0.1:"), line
        yield line.split()[2].split("/?")[0].rstrip("/")
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_token_guards_every_route(web_demo: str) -> None:
    assert httpx.get(f"{web_demo}/").status_code == 401
    assert httpx.get(f"{web_demo}/?token=wrong").status_code == 401
    page = httpx.get(f"{web_demo}/?token=t0k")
    assert page.status_code == 200 and "oss_monitor_web" in page.cookies
    static = httpx.get(f"{web_demo}/static/js/textual.js", cookies=page.cookies)
    assert static.status_code == 200


def test_a_remote_bind_without_token_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "web", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=30,
        env={k: v for k, v in os.environ.items() if k != "OSS_MONITOR_WEB_TOKEN"},
    )  # fmt: skip
    assert done.returncode == 2 and "pass --token" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_dashboard_works_in_chromium(web_demo: str, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI installs it)")
    frames: list[bytes] = []

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
            f if isinstance(f, bytes) else f.encode())))  # fmt: skip

        def shown(since: int) -> str:
            return ANSI.sub(b"", b"".join(frames[since:])).decode("utf-8", "replace")

        def wait_for(needle: str, since: int) -> None:
            """Poll what the browser received until `needle` shows (the page events need the
            Playwright loop to turn, hence wait_for_timeout rather than a bare sleep)."""
            for _ in range(150):
                if needle in shown(since):
                    return
                page.wait_for_timeout(200)
            raise AssertionError(f"{needle!r} never showed; last screen: {shown(since)[-400:]!r}")

        def press(key: str, needle: str) -> None:
            since = len(frames)
            page.keyboard.press(key)
            wait_for(needle, since)

        page.goto(f"{web_demo}/?token=t0k")
        wait_for("SIMULATED", 0)
        wait_for("sim-rocket", 0)
        page.locator(".xterm-screen").click()
        press("Enter", "Catalogue entry")  # the detail screen of the selected endpoint
        press("Escape", "window 1h")  # back to the ranking (its status line)
        press("w", "window 24h")  # 1h -> 24h
        page.screenshot(path=str(tmp_path / "web.png"))
        browser.close()
    assert (tmp_path / "web.png").stat().st_size > 10_000
