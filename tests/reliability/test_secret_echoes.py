"""Class: no secret leaks, whatever the provider echoes. Redaction happens before any cut,
on messages, rate-limit header names and values; a base_url with user:password@ is refused
by the catalogue; nothing the router logs carries a key or a URL's password."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.core.format import printable
from monitor.store import Store
from tests.e2e.test_router import CHAT, post, routing, seed
from tests.helpers import json_lines, sim
from tests.reliability.wire import Start, error_body, raw

HEX_KEY = "9f" * 32  # 64 hex characters, no prefix: no key shape matches it
ECHOES = {
    # The key where a 200-character cut used to fall, so only a prefix survived redaction.
    "a 401 echoing a bare hex key late in a long message": (
        401, error_body("x" * 190 + f" key {HEX_KEY} is invalid"), {}),
    "a 429 whose header name and value hold the key": (
        429, ["slow down"], {f"x-ratelimit-{HEX_KEY}": f"remaining=0; key={HEX_KEY}"}),
    "a mid-stream error echoing the key": (
        200, [f'data: {{"error": {{"message": "bad key {HEX_KEY[:60]}\\n{HEX_KEY[60:]}"}}}}\n\n'],
        {}),
    "an HTML page titled with the key": (
        502, [f"<html><title>{HEX_KEY}</title></html>"], {"content-type": "text/html"}),
    "a URL with a password in the message": (
        500, error_body(f"cannot reach https://admin:{HEX_KEY}@10.0.0.1/v1"), {}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ECHOES))
def test_echoed_keys_are_redacted_before_any_cut(
    name: str,
    run_fleet: Start,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, chunks, headers = ECHOES[name]
    _, path = run_fleet(raw("echo", chunks, status=status, headers=headers, key_env="ECHO_KEY"),
                        sim("healthy"))  # fmt: skip
    monkeypatch.setenv("ECHO_KEY", HEX_KEY)
    monkeypatch.setenv("OSS_FLEET_KEY", "sim-test-key-1234567890")
    db = tmp_path / "s.db"
    common = ["--providers", str(path), "--db", f"sqlite:///{db}"]
    assert main(["probe", "--once", "--json", *common]) == 0
    lines, said = capsys.readouterr()
    assert main(["probe", "--once", *common]) == 0
    assert main(["rank", "--json", *common]) == 0
    out, err = capsys.readouterr()
    stored = Store(f"sqlite:///{db}").recent("echo")
    rate_limits = [p.rate_limit or "" for p in stored]
    for text in (lines, said, out, err, *(p.message for p in stored), *rate_limits):
        assert HEX_KEY[:12] not in text and HEX_KEY[-12:] not in text, text
    assert {r["id"]: r["ok"] for r in json_lines(lines)}["echo"] is False
    assert db.read_bytes().find(HEX_KEY[:12].encode()) == -1


@pytest.mark.parametrize(
    "url",
    ["https://user:hunter2-secret@api.x.test/v1", "https://hunter2-secret@api.x.test/v1",
     "https://u:hunter2-secret@{ACCOUNT}.x.test/v1"],
)  # fmt: skip
def test_a_base_url_with_userinfo_is_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"providers:\n  - id: x\n    name: X\n    base_url: '{url}'\n    model: m\n")
    for command in (["providers"], ["providers", "--json"], ["probe", "--once"]):
        assert main([*command, "--providers", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:4: endpoint 'x' base_url: base_url must not carry a user name" in err
        assert "hunter2" not in err


def test_the_router_logs_no_key_and_no_password(
    run_fleet: Start, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    echo = raw("echo", error_body(f"key {HEX_KEY} refused at https://a:{HEX_KEY}@h/"),
               status=401, key_env=None)  # fmt: skip
    _, path = run_fleet(echo, sim("fast"))
    seed(store, "echo", 50)
    seed(store, "fast", 100)
    with caplog.at_level(logging.INFO, logger="oss-monitor.router"), routing(path, store) as url:
        answer = post(url, CHAT)
    assert answer.status_code == 200 and answer.headers["x-oss-monitor-failovers"] == "1"
    logged = caplog.text
    assert "echo" in logged and "***" in logged
    assert HEX_KEY[:12] not in logged and HEX_KEY[:12] not in printable(answer.text)
