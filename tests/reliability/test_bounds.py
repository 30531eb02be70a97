"""Class: values a provider (or a file) controls are validated and clamped at one boundary,
before the store, the scheduler's time arithmetic or a screen: deep JSON, numbers out of
range, text that cannot be stored or printed. Each case ends as one probe's failure (or a
clear refusal), the round goes on, and the next round works."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.cli import main
from monitor.core.models import ErrorKind
from monitor.sim.fleet import FLEET_KEY_ENV
from monitor.store import Store
from monitor.upstream import bounds
from tests.e2e.test_router import CHAT, routing, seed
from tests.helpers import FLEET_KEY, json_lines, sim
from tests.reliability.test_bad_input import run_cli
from tests.reliability.wire import Start, answer, delta, error_body, event, one_round, raw

pytestmark = pytest.mark.anyio
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


DEEP_JSON = {
    "in an event": (raw("odd", [event(delta("Hi")), f'data: {{"choices": {DEEP}}}\n\n']),
                    ErrorKind.BAD_RESPONSE, "nested more than 64 levels"),
    "in an error body": (raw("odd", [json.dumps({"error": {"message": json.loads(
        "[" * 60 + "]" * 60)}}), DEEP], status=500), ErrorKind.SERVER, "HTTP 500"),
    "in a 200 JSON body": (raw("odd", [f'{{"choices": {DEEP}}}'], headers={
        "content-type": "application/json"}), ErrorKind.BAD_RESPONSE, "nested more than 64"),
    "in a deep but legal error": (raw("odd", error_body({"a": {"b": {"c": ["gone"]}}}),
                                      status=503), ErrorKind.SERVER, '"gone"'),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DEEP_JSON))
async def test_deep_json_is_one_failure(name: str, run_fleet: Start, store: Store) -> None:
    profile, kind, needle = DEEP_JSON[name]
    results = await one_round(run_fleet, store, profile)
    assert (results["odd"].error, needle in results["odd"].message) == (kind, True), results


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("1e400", bounds.MAX_WAIT_S), ("99999999999999", bounds.MAX_WAIT_S), ("nan", None),
     ("-5", 0.0), ("Fri, 31 Dec 9999 23:59:59 GMT", bounds.MAX_WAIT_S), ("12", 12.0),
     ("x" * 10_000, None)],
)  # fmt: skip
async def test_retry_after_is_clamped(
    retry_after: str, expected: float | None, run_fleet: Start, store: Store
) -> None:
    limited = raw("limited", ["slow down"], status=429, headers={"retry-after": retry_after})
    results = await one_round(run_fleet, store, limited)
    assert results["limited"].error is ErrorKind.RATE_LIMITED
    assert results["limited"].retry_after_s == expected
    held = store.states()["limited"].not_before
    assert held is not None  # the scheduler's arithmetic survived, whatever the header said
    assert (held.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() <= bounds.MAX_WAIT_S


@pytest.mark.parametrize("tokens", [2**70, -5, "12", True, 1.5e300, None])
async def test_usage_counts_out_of_range_are_ignored(
    tokens: Any, run_fleet: Start, store: Store
) -> None:
    usage = {"choices": [], "usage": {"completion_tokens": tokens}}
    stream = [event(delta("Hi")), event(delta(finish="stop")), event(usage), "data: [DONE]\n\n"]
    results = await one_round(run_fleet, store, raw("odd", stream))
    assert results["odd"].ok and results["odd"].output_tokens == 1  # counted chunks instead
    assert store.recent("odd")[0].output_tokens == 1


TEXTS = {
    "a lone surrogate": "bad \\udc80 char",
    "a NUL and controls": "nul \\u0000 bell \\u0007 del \\u007f",
    "a right-to-left override": "abc\\u202edef",
}


@pytest.mark.parametrize("name", list(TEXTS))
def test_text_that_cannot_be_stored_or_printed(
    name: str,
    run_fleet: Start,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = '{"error": {"message": "' + TEXTS[name] + '"}}'
    _, path = run_fleet(raw("odd", [body], status=500), sim("healthy"))
    monkeypatch.setenv(FLEET_KEY_ENV, FLEET_KEY)
    db = tmp_path / "t.db"
    common = ["--providers", str(path), "--db", f"sqlite:///{db}"]
    assert main(["probe", "--once", *common]) == 0  # the table printed, healthy exit
    assert main(["probe", "--once", "--json", *common]) == 0
    assert main(["rank", *common]) == 0
    out = capsys.readouterr().out
    assert "HTTP 500: " in out and "Traceback" not in out
    stored = Store(f"sqlite:///{db}").recent("odd")[0].message
    assert stored.startswith("HTTP 500: ") and stored.isprintable()


def test_a_non_ascii_key_names_its_variable(
    run_fleet: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _, path = run_fleet(sim("odd", key_env="ODD_KEY"), sim("healthy"))
    monkeypatch.setenv(FLEET_KEY_ENV, FLEET_KEY)
    monkeypatch.setenv("ODD_KEY", "sk-abc\u00e9def-pasted")  # é from a word processor
    code = main(["probe", "--once", "--json", "--providers", str(path),
                 "--db", f"sqlite:///{tmp_path / 'k.db'}"])  # fmt: skip
    rows = {r["id"]: r for r in json_lines(capsys.readouterr().out)}
    assert code == 0 and rows["healthy"]["ok"]
    assert rows["odd"]["error"] == "auth"
    assert "ODD_KEY holds a character that cannot be sent" in rows["odd"]["message"]
    assert "position 7" in rows["odd"]["message"] and "\u00e9" not in rows["odd"]["message"]


REFUSED = [
    (["rank", "--window", "999999d"], "longer than 3650 days"),
    (["dashboard", "--no-probe", "--window", "99999999s"], "is not a duration"),
    (["prune", "--older-than", "400000d"], "longer than 3650 days"),
]


@pytest.mark.parametrize(("args", "needle"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_windows_out_of_range_are_refused(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(args, capsys)
    assert code == 2 and needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("entry", "needle"),
    [("quota: {rpm: " + "9" * 400 + "}", ":4: endpoint 'x' quota.rpm: must be at most"),
     ("context: " + "9" * 40, ":4: endpoint 'x' context"),
     ("price: {input: 1e400, output: 1}", ":4: endpoint 'x' price.input"),
     ("price: {input: .nan, output: 1}", ":4: endpoint 'x' price.input")],
)  # fmt: skip
def test_catalogue_numbers_out_of_range(
    entry: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "providers:\n  - id: x\n    name: X\n    " + entry + "\n"
        "    base_url: https://x.test/v1\n    model: m\n"
    )
    assert main(["providers", "--providers", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}{needle}" in err and "Traceback" not in err


@pytest.mark.parametrize("depth", [65, 100_000])
def test_router_refuses_deep_request_bodies_with_400(
    depth: int, run_fleet: Start, store: Store
) -> None:
    _, path = run_fleet(sim("fast"))
    seed(store, "fast", 100)
    nested = "[" * depth + "]" * depth
    body = json.dumps(CHAT)[:-1] + f', "metadata": {nested}}}'
    with routing(path, store) as url:
        deep = httpx.post(f"{url}/chat/completions", content=body, timeout=30)
        fine = httpx.post(f"{url}/chat/completions", json=CHAT, timeout=30)
    assert deep.status_code == 400 and "nested more than 64" in deep.json()["error"]["message"]
    assert fine.status_code == 200


def test_the_boundary_itself() -> None:
    assert bounds.loads(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(bounds.TooDeep):
        bounds.loads("[" * 65 + "]" * 65)
    assert bounds.loads("[" * 64 + "]" * 64) is not None
    assert bounds.count(bounds.MAX_COUNT) == bounds.MAX_COUNT
    assert bounds.count(bounds.MAX_COUNT + 1) is None
    assert bounds.text("k" * 1000, []).endswith("…") and len(bounds.text("k" * 1000, [])) == 300
    assert answer()[-1] == "data: [DONE]\n\n"
