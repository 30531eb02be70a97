"""`catalog check`: GET {base_url}/models against mocked providers (respx), and the pure verdict."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from monitor.catalog import Endpoint
from monitor.upstream.catalog_check import (
    CheckSettings,
    Reply,
    Verdict,
    check_all,
    judge,
    model_ids,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-abcdef123456"
BASE = "https://api.example.test/v1"
MODELS = f"{BASE}/models"
ENDPOINT = Endpoint(
    id="example",
    name="Example",
    base_url=BASE,
    model="openai/gpt-oss-120b",
    api_key_env="EXAMPLE_KEY",
)
ENV = {"EXAMPLE_KEY": KEY}
SMALL = CheckSettings(max_bytes=10_000, total_s=5)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def listing(*ids: str) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}


async def check(
    endpoint: Endpoint = ENDPOINT, env: dict[str, str] = ENV, settings: CheckSettings = SMALL
) -> Any:
    async with httpx.AsyncClient() as client:
        [result] = await check_all([endpoint], client, env, settings)
    return result


@respx.mock
async def test_listed_with_the_key_sent_as_a_probe_would() -> None:
    route = respx.get(MODELS).mock(
        return_value=httpx.Response(200, json=listing("llama-3.3-70b", "openai/gpt-oss-120b"))
    )
    result = await check()
    assert result.verdict is Verdict.LISTED and result.status == 200
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert route.calls.last.request.headers["accept"] == "application/json"


@respx.mock
async def test_renamed_offers_the_closest_gpt_oss_120b_id() -> None:
    ids = ("openai/gpt-oss-20b", "openai/gpt-oss-120b-Turbo", "gpt-oss-120b-fast-v2")
    respx.get(MODELS).mock(return_value=httpx.Response(200, json=listing(*ids)))
    result = await check()
    assert result.verdict is Verdict.RENAMED
    assert result.closest == "openai/gpt-oss-120b-Turbo"
    assert "openai/gpt-oss-120b-Turbo" in result.detail


@respx.mock
async def test_missing_when_only_other_models_are_listed() -> None:
    # gpt-oss-20b is close as text but is another model: not offered as a rename.
    respx.get(MODELS).mock(return_value=httpx.Response(200, json=listing("openai/gpt-oss-20b")))
    result = await check()
    assert result.verdict is Verdict.MISSING and result.closest is None
    assert "not among the 1 models" in result.detail


@respx.mock
@pytest.mark.parametrize("status", [404, 410])
async def test_gone_when_the_base_url_answers_404(status: int) -> None:
    respx.get(MODELS).mock(return_value=httpx.Response(status, text="Not Found"))
    result = await check()
    assert result.verdict is Verdict.GONE and result.status == status


@respx.mock
async def test_auth_names_the_unset_key_and_sends_no_bearer() -> None:
    route = respx.get(MODELS).mock(return_value=httpx.Response(401, json={"error": "no key"}))
    result = await check(env={})
    assert result.verdict is Verdict.AUTH
    assert "set EXAMPLE_KEY" in result.detail
    assert "authorization" not in route.calls.last.request.headers


@respx.mock
async def test_a_redirect_is_not_followed_so_the_key_stays_home() -> None:
    respx.get(MODELS).mock(
        return_value=httpx.Response(301, headers={"location": "https://evil.test/models"})
    )
    elsewhere = respx.get("https://evil.test/models").mock(return_value=httpx.Response(200))
    result = await check()
    assert result.verdict is Verdict.UNREACHABLE and "redirected" in result.detail
    assert not elsewhere.called


@respx.mock
async def test_unreachable_on_connection_errors_and_timeouts() -> None:
    respx.get(MODELS).mock(side_effect=httpx.ConnectError("refused"))
    result = await check()
    assert result.verdict is Verdict.UNREACHABLE and "ConnectError" in result.detail
    respx.get(MODELS).mock(side_effect=httpx.ReadTimeout("slow"))
    assert (await check()).verdict is Verdict.UNREACHABLE


@respx.mock
@pytest.mark.parametrize("with_length", [True, False])
async def test_a_huge_body_is_not_read(with_length: bool) -> None:
    huge = b'{"data": [' + b'{"id": "x"},' * 5_000 + b'{"id": "openai/gpt-oss-120b"}]}'

    async def drip() -> AsyncIterator[bytes]:  # no content-length: the cap applies while reading
        for start in range(0, len(huge), 1_000):
            yield huge[start : start + 1_000]

    response = httpx.Response(200, content=huge if with_length else drip())
    assert ("content-length" in response.headers) is with_length
    respx.get(MODELS).mock(return_value=response)
    result = await check()
    assert result.verdict is Verdict.UNREACHABLE and "over 10,000 bytes" in result.detail


@respx.mock
@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        (b"<html>Welcome</html>", Verdict.NO_MODELS_ROUTE),
        (b"[" * 50_000 + b"]" * 50_000, Verdict.NO_MODELS_ROUTE),
        (b'{"data": "openai/gpt-oss-120b"}', Verdict.NO_MODELS_ROUTE),
        (json.dumps({"data": [{"id": "openai/gpt-oss-120b\u0007"}, {"id": 7}, None]}).encode(),
         Verdict.MISSING),
        (json.dumps({"models": [{"name": "openai/gpt-oss-120b"}]}).encode(), Verdict.LISTED),
        (json.dumps(["openai/gpt-oss-120b"]).encode(), Verdict.LISTED),
    ],
)  # fmt: skip
async def test_hostile_or_odd_json_is_tolerated(body: bytes, verdict: Verdict) -> None:
    respx.get(MODELS).mock(return_value=httpx.Response(200, content=body))
    assert (await check(settings=CheckSettings(max_bytes=200_000))).verdict is verdict


async def test_modelslab_and_unset_url_variables_are_not_asked() -> None:
    modelslab = ENDPOINT.model_copy(update={"id": "ml", "dialect": "modelslab"})
    cloudflare = ENDPOINT.model_copy(
        update={"id": "cf", "base_url": "https://api.cf.test/accounts/{CF_ACCOUNT}/ai/v1"}
    )
    with respx.mock(assert_all_mocked=True):  # any request would fail the test
        async with httpx.AsyncClient() as client:
            results = await check_all([modelslab, cloudflare], client, ENV, SMALL)
    assert [r.verdict for r in results] == [Verdict.NO_MODELS_ROUTE, Verdict.SKIPPED]
    assert "CF_ACCOUNT" in results[1].detail


@respx.mock
async def test_every_endpoint_is_checked_and_the_order_kept() -> None:
    endpoints = [
        ENDPOINT.model_copy(update={"id": f"e{i}", "base_url": f"https://e{i}.test/v1"})
        for i in range(6)
    ]
    for i in range(6):
        found = listing("openai/gpt-oss-120b") if i % 2 else listing()
        respx.get(f"https://e{i}.test/v1/models").mock(return_value=httpx.Response(200, json=found))
    async with httpx.AsyncClient() as client:
        results = await check_all(endpoints, client, ENV, SMALL)
    assert [r.endpoint_id for r in results] == [f"e{i}" for i in range(6)]
    assert [r.verdict for r in results] == [Verdict.MISSING, Verdict.LISTED] * 3


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(401, Verdict.AUTH), (403, Verdict.AUTH), (405, Verdict.NO_MODELS_ROUTE),
     (429, Verdict.UNREACHABLE), (500, Verdict.UNREACHABLE), (None, Verdict.UNREACHABLE)],
)  # fmt: skip
def test_judge_is_pure(status: int | None, verdict: Verdict) -> None:
    assert judge(ENDPOINT, Reply(status, error="boom" if status is None else "")).verdict is verdict


def test_model_ids_are_bounded() -> None:
    body = json.dumps({"data": [{"id": "m" * 500}, {"id": "ok"}] + [{"id": "x"}] * 20_000})
    ids = model_ids(body.encode())
    assert ids is not None and ids[0] == "ok" and len(ids) < 10_001
