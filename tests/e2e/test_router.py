"""The router end to end: a real fleet on 127.0.0.1, the router in a thread, httpx as the tool."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from monitor.catalog import load_catalog
from monitor.core.models import ErrorKind, ProbeKind
from monitor.router import Router, RouterServer, RouterSettings
from monitor.sim.fleet import FleetProfile, FleetServer, catalogue_yaml
from monitor.store import Store
from tests.helpers import FLEET_KEY, result, sim

Start = Callable[..., tuple[FleetServer, Path]]
ENV = {"OSS_FLEET_KEY": FLEET_KEY}
CHAT = {"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "Say hi."}]}
STREAM = {**CHAT, "stream": True}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip


@contextmanager
def routing(catalogue: Path, store: Store, **settings: Any) -> Iterator[str]:
    """The router on the catalogue's endpoints; yields its /v1 URL. Samples are flushed at exit."""
    catalog = load_catalog(str(catalogue), env=ENV)
    router = Router(catalog, store, ENV, RouterSettings(**settings))
    with RouterServer(router) as server:
        yield server.url


def seed(store: Store, endpoint_id: str, ttft: float, ok: tuple[bool, ...] = (True,) * 3) -> None:
    """Stored probes that rank `endpoint_id`: lower ttft ranks first."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    store.add([result(endpoint_id, o, ttft=ttft, at=start + timedelta(seconds=i))
               for i, o in enumerate(ok)])  # fmt: skip


def traffic(store: Store) -> list[tuple[str, bool, str | None]]:
    since = datetime.now(UTC) - timedelta(minutes=1)
    return [(s.endpoint_id, s.ok, s.error) for s in store.samples(since) if s.kind == "traffic"]


def post(url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", json=body, headers=headers, timeout=30)


def events(raw: bytes) -> list[Any]:
    lines = [line[5:].strip() for line in raw.split(b"\n") if line.startswith(b"data:")]
    return [line.decode() if line == b"[DONE]" else json.loads(line) for line in lines]


def content(raw: bytes) -> str:
    deltas = [c["choices"][0]["delta"] for c in events(raw) if isinstance(c, dict) and c.get(
        "choices")]  # fmt: skip
    return "".join(d.get("content") or "" for d in deltas)


class Capture:
    """ASGI middleware on the fleet: what the router sent upstream (headers, JSON body)."""

    def __init__(self, app: Any, seen: list[tuple[dict[str, str], dict[str, Any]]]):
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        messages = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append((headers, json.loads(b"".join(m.get("body", b"") for m in messages))))
        replay = iter(messages)

        async def again() -> Any:
            return next(replay, None) or await receive()

        await self.app(scope, again, send)


def test_pass_through_stream_and_whole_byte_for_byte(tmp_path: Path, store: Store) -> None:
    profile = FleetProfile(api_key=FLEET_KEY, seed=1, endpoints=[sim("only")])
    seen: list[tuple[dict[str, str], dict[str, Any]]] = []
    fleet = FleetServer(profile)
    fleet.fleet.app.add_middleware(Capture, seen=seen)
    catalogue = tmp_path / "fleet.yaml"
    catalogue.write_text(catalogue_yaml(profile, fleet.base_url))
    extras = {"temperature": 0.3, "stop": ["\n\n"], "reasoning_effort": "high",
              "response_format": {"type": "text"}, "tools": TOOLS, "tool_choice": "none",
              "max_tokens": 77, "stream_options": {"include_usage": True}}  # fmt: skip
    with fleet, routing(catalogue, store) as url:
        direct_url = f"{fleet.base_url}/only/v1/chat/completions"
        auth = {"authorization": f"Bearer {FLEET_KEY}"}
        answers = []
        # A whole answer passes through as it is only when it cannot be rebuilt from a stream.
        bodies = ({**STREAM}, {**CHAT, "n": 1, "logprobs": True}, {**STREAM, **extras})
        for body in bodies:
            via = post(url, body, authorization="Bearer the-tools-own-key")
            direct = httpx.post(direct_url, json={**body, "model": "openai/gpt-oss-120b"},
                                headers=auth, timeout=30)  # fmt: skip
            assert via.status_code == direct.status_code == 200, via.text
            assert via.content == direct.content, body
            assert via.headers["content-type"] == direct.headers["content-type"]
            assert via.headers["x-oss-monitor-endpoint"] == "only"
            answers.append(via)
        rebuilt = post(url, CHAT)
        models = httpx.get(f"{url}/models").json()
    assert [m["id"] for m in models["data"]] == ["gpt-oss-120b"]
    assert "word0 word1" in content(answers[0].content)
    assert "word0 word1" in answers[1].json()["choices"][0]["message"]["content"]
    routed = [seen[i] for i in (0, 2, 4)]
    for (headers, sent), body in zip(routed, bodies, strict=True):
        assert sent == {**body, "model": "openai/gpt-oss-120b"}  # only the model id changed
        assert headers["authorization"] == f"Bearer {FLEET_KEY}"  # never the tool's own key
    assert seen[-1][1] == {**CHAT, "model": "openai/gpt-oss-120b", "stream": True,
                           "stream_options": {"include_usage": True}}  # fmt: skip
    assert "word0 word1" in rebuilt.json()["choices"][0]["message"]["content"]
    assert traffic(store) == [("only", True, None)] * 4
    stored = store.recent("only")[0]
    assert stored.kind == ProbeKind.TRAFFIC and stored.ttft_ms and stored.ttft_ms > 15


@pytest.mark.parametrize("failure", ["429", "503", "refused", "slow first token"])
def test_failover_before_the_first_byte(
    run_fleet: Start, store: Store, tmp_path: Path, failure: str
) -> None:
    bad = {
        "429": sim("bad", fail_rate={"rate_limited": 1.0}),
        "503": sim("bad", mode="status", error_status=503),
        "slow first token": sim("bad", ttft_ms={"mean": 3000}),
        "refused": sim("bad"),
    }[failure]
    server, catalogue = run_fleet(bad, sim("good"))
    if failure == "refused":
        catalogue = _pointed_at_closed_port(catalogue, "bad")
    seed(store, "bad", ttft=10)
    seed(store, "good", ttft=400)
    with routing(catalogue, store, first_token_s=0.5) as url:
        first = post(url, STREAM)
        second = post(url, CHAT)
    assert first.status_code == 200, first.text
    assert first.headers["x-oss-monitor-endpoint"] == "good"
    assert first.headers["x-oss-monitor-failovers"] == "1"
    assert events(first.content)[-1] == "[DONE]" and "word0" in content(first.content)
    expected = {
        "429": ErrorKind.RATE_LIMITED,
        "503": ErrorKind.SERVER,
        "refused": ErrorKind.NETWORK,
        "slow first token": ErrorKind.TIMEOUT,
    }[failure]
    assert ("bad", False, expected) in traffic(store)
    assert ("good", True, None) in traffic(store)
    if failure == "429":  # its Retry-After is learned: the next request skips it at once
        assert "x-oss-monitor-failovers" not in second.headers
        assert server.fleet.request_counts()["bad"] == 1
        # ... and stored, so probers in other processes wait for it too.
        held = store.states()["bad"].not_before
        assert held is not None and held > datetime.now(UTC)


def _pointed_at_closed_port(catalogue: Path, endpoint_id: str) -> Path:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = yaml.safe_load(catalogue.read_text())
    for entry in data["providers"]:
        if entry["id"] == endpoint_id:
            entry["base_url"] = f"http://127.0.0.1:{port}/v1"
    path = catalogue.with_name("refused.yaml")
    path.write_text(yaml.safe_dump(data))
    return path


def test_mid_stream_break_is_surfaced_not_switched(run_fleet: Start, store: Store) -> None:
    server, catalogue = run_fleet(sim("cut", mode="cut"), sim("good"))
    seed(store, "cut", ttft=10)
    seed(store, "good", ttft=400)
    with routing(catalogue, store) as url:
        done = post(url, STREAM)
    assert done.status_code == 200 and done.headers["x-oss-monitor-endpoint"] == "cut"
    chunks = [c for c in events(done.content) if isinstance(c, dict)]
    assert "Okay" in json.dumps(chunks[1])  # the answer had begun
    assert chunks[-2]["error"]["code"] == "stream_cut" and "cut" in chunks[-2]["error"]["message"]
    finishes = [ch["finish_reason"] for c in chunks for ch in c.get("choices", [])]
    assert finishes[-1] == "error" and "stop" not in finishes
    assert server.fleet.request_counts()["good"] == 0  # never switched silently
    assert traffic(store) == [("cut", False, ErrorKind.BAD_RESPONSE)]


def test_tool_requests_avoid_broken_tool_calls(run_fleet: Start, store: Store) -> None:
    _, catalogue = run_fleet(sim("broken", broken_tools=True), sim("works"))
    seed(store, "broken", ttft=10)
    store.add([result("broken", False, error=ErrorKind.BAD_RESPONSE, kind=ProbeKind.TOOLS)])
    seed(store, "works", ttft=400, ok=(True, False, True))  # degraded: ranks below `broken`
    with routing(catalogue, store) as url:
        health = httpx.get(url.removesuffix("/v1") + "/health").json()
        plain = post(url, STREAM)
        ask = [{"role": "user", "content": "Weather in Paris? Use the get_weather tool."}]
        tools = post(url, {**STREAM, "messages": ask, "tools": TOOLS, "tool_choice": "auto"})
    assert health["would_use"] == "broken" and health["with_tools"] == "works"
    assert "TTFT 10 ms" in health["why"] and health["ok"] is True
    assert plain.headers["x-oss-monitor-endpoint"] == "broken"
    assert tools.headers["x-oss-monitor-endpoint"] == "works"
    calls = [d["tool_calls"] for c in events(tools.content) if isinstance(c, dict)
             for d in [c["choices"][0]["delta"]] if d.get("tool_calls")]  # fmt: skip
    arguments = "".join(call[0]["function"].get("arguments", "") for call in calls)
    assert json.loads(arguments) == {"city": "Paris"}


def test_no_key_or_prompt_in_store_or_logs(
    run_fleet: Start, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, catalogue = run_fleet(sim("locked", key="sk-other-key-00000000"), sim("fine"))
    db_file = tmp_path / "secret.db"
    store = Store(f"sqlite:///{db_file}")
    seed(store, "locked", ttft=10)
    seed(store, "fine", ttft=400)
    marker = "PROMPT-MARKER-4242"
    body = {**STREAM, "messages": [{"role": "user", "content": marker}]}
    with caplog.at_level(logging.INFO, logger="oss-monitor.router"), routing(
        catalogue, store, token="router-token-abcdef123"
    ) as url:  # fmt: skip
        done = post(url, body, authorization="Bearer router-token-abcdef123")
    store.close()
    assert done.headers["x-oss-monitor-endpoint"] == "fine" and "word0" in content(done.content)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("secret.db*"))
    assert b"traffic" in raw and b"locked" in raw  # the samples are there
    logs = caplog.text
    assert "locked auth" in logs and "fine ok" in logs
    for secret in (marker, FLEET_KEY, "router-token-abcdef123", "word0"):
        assert secret.encode() not in raw and secret not in logs


def test_every_endpoint_failing_is_one_clear_error(run_fleet: Start, store: Store) -> None:
    _, catalogue = run_fleet(sim("a", mode="status", error_status=502), sim("b", mode="html"))
    with routing(catalogue, store) as url:  # nothing seeded: both are tried as "pending"
        failed = post(url, STREAM)
        health = httpx.get(url.removesuffix("/v1") + "/health")
        after = post(url, STREAM)  # once the ranking has seen both fail, none is tried
    assert failed.status_code == 502
    message = failed.json()["error"]["message"]
    assert "a: HTTP 502" in message and "b: HTTP 200 but an HTML page" in message
    assert health.status_code == 200  # the ranking is refreshed every few seconds, not per call
    assert after.status_code in (502, 503) and "Traceback" not in after.text


def test_token_is_enforced(run_fleet: Start, store: Store) -> None:
    _, catalogue = run_fleet(sim("a"))
    with routing(catalogue, store, token="tok-123456") as url:
        missing = post(url, STREAM)
        wrong = httpx.get(f"{url}/models", headers={"authorization": "Bearer nope"})
        right = post(url, STREAM, authorization="Bearer tok-123456")
    assert missing.status_code == wrong.status_code == 401
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert right.status_code == 200 and "word0" in content(right.content)


def test_router_command(run_fleet: Start, tmp_path: Path) -> None:
    _, catalogue = run_fleet(sim("a"))
    code = "import sys; from monitor.cli import main; sys.exit(main())"
    base = [sys.executable, "-c", code, "router", "--providers", str(catalogue),
            "--db", f"sqlite:///{tmp_path / 'r.db'}"]  # fmt: skip
    env = {**ENV, "PATH": "/usr/bin:/bin"}
    helped = subprocess.run([*base, "--help"], capture_output=True, text=True, env=env, timeout=30)
    assert helped.returncode == 0 and "examples:" in helped.stdout
    exposed = subprocess.run([*base, "--host", "0.0.0.0"], capture_output=True, text=True,
                             env=env, timeout=30)  # fmt: skip
    assert exposed.returncode == 2 and "pass --token" in exposed.stderr
    assert "Traceback" not in exposed.stderr
    router = subprocess.Popen([*base, "--port", "0", "--token", "t-1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert router.stdout is not None
        line = router.stdout.readline()
        assert line.startswith("router on http://127.0.0.1:"), line
        url = line.split()[2]
        done = post(url, STREAM, authorization="Bearer t-1")
        assert done.status_code == 200 and "word0" in content(done.content)
    finally:
        router.terminate()
        _, err = router.communicate(timeout=20)
    # SIGTERM stops it gracefully: the sample was flushed before the process ended.
    assert router.returncode == -signal.SIGTERM and "Traceback" not in err
    assert "a ok, TTFT" in err and "t-1" not in err
    samples = Store(f"sqlite:///{tmp_path / 'r.db'}").samples(datetime.now(UTC) - timedelta(1))
    assert [(s.endpoint_id, s.kind, s.ok) for s in samples] == [("a", "traffic", True)]
