"""Alert transitions with hysteresis, and their delivery to a command and a webhook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import respx

from monitor.alerts import BEST, Alert, deliver, transitions
from monitor.catalog import Endpoint
from monitor.ranking import compute
from tests.test_ranking import samples


def endpoints() -> list[Endpoint]:
    return [Endpoint(id=i, name=i.title(), base_url="https://x.test/v1", model="m") for i in "ab"]


def run(pattern_a: str, pattern_b: str, memory: dict[str, str]) -> tuple[list[Alert], dict]:
    data = {"a": samples("a", pattern_a, 100), "b": samples("b", pattern_b, 300)}
    stats = compute(endpoints(), data["a"] + data["b"])
    return transitions(stats, data, memory, down_after=3, up_after=2)


def test_one_blip_pages_nobody() -> None:
    alerts, memory = run("oooox", "ooooo", {})
    assert alerts == [] and memory == {"a": "up", "b": "up", BEST: "b"}
    alerts, memory = run("oooxx", "ooooo", memory)
    assert alerts == []


def test_down_after_n_failures_then_recovery_after_m() -> None:
    alerts, memory = run("ooxxx", "ooooo", {"a": "up", "b": "up", BEST: "a"})
    assert [(a.event, a.endpoint) for a in alerts] == [("down", "a"), ("best_changed", "b")]
    assert "HTTP 500" in alerts[0].message and memory["a"] == "down"
    again, memory = run("oxxxx", "ooooo", memory)  # still down: no new page
    assert again == []
    half, memory = run("xxxxo", "ooooo", memory)  # one success is not a recovery
    assert half == [] and memory["a"] == "down"
    back, memory = run("xxxoo", "ooooo", memory)
    assert [(a.event, a.endpoint) for a in back] == [("recovered", "a")]


def test_command_gets_json_and_env(tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    script = tmp_path / "hook.py"
    script.write_text(
        "import os, sys, pathlib\n"
        f"text = sys.stdin.read() + os.environ['OSS_MONITOR_EVENT']\n"
        f"pathlib.Path({str(out)!r}).write_text(text)\n"
    )
    alert = Alert("down", "a", "A", "HTTP 500: boom", "2026-11-24T10:00:00+00:00")
    assert deliver([alert], f"{sys.executable} {script}", None) == []
    text = out.read_text()
    assert text.endswith("down") and json.loads(text[: -len("down")])["endpoint"] == "a"
    problems = deliver([alert], f"{sys.executable} -c 'raise SystemExit(3)'", None)
    assert len(problems) == 1 and "exited with 3; check the command" in problems[0]


def test_webhook_posts_json_and_reports_failure() -> None:
    alert = Alert("recovered", "a", "A", "ok", "2026-11-24T10:00:00+00:00")
    with respx.mock:
        hook = respx.post("https://hooks.test/x").mock(return_value=httpx.Response(204))
        assert deliver([alert], None, "https://hooks.test/x") == []
        assert json.loads(hook.calls[0].request.content)["event"] == "recovered"
        respx.post("https://hooks.test/bad").mock(return_value=httpx.Response(500))
        assert deliver([alert], None, "https://hooks.test/bad") == [
            "alert webhook https://hooks.test/bad answered HTTP 500; check the URL"
        ]
