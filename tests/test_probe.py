"""The prober against mocked HTTP (respx): every stream dialect and every error kind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from monitor.catalog import Endpoint
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings
from monitor.probe import probe
from monitor.upstream.bounds import wait_seconds as retry_after_seconds
from monitor.upstream.client import make_client
from monitor.upstream.redact import redact

pytestmark = pytest.mark.anyio

KEY = "gsk_live_abcdefghijklmnop1234"
URL = "https://api.example.test/v1/chat/completions"
ENDPOINT = Endpoint(
    id="example",
    name="Example",
    base_url="https://api.example.test/v1",
    model="openai/gpt-oss-120b",
    api_key_env="EXAMPLE_KEY",
)
ENV = {"EXAMPLE_KEY": KEY}
FAST = ProbeSettings(connect_s=2, first_token_s=2, total_s=4)


def sse(*chunks: dict[str, Any] | str, done: bool = True) -> bytes:
    lines = [f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n" for c in chunks]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def stream_response(body: bytes, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=body, headers={"content-type": "text/event-stream", **headers}
    )


async def run(
    endpoint: Endpoint = ENDPOINT,
    env: dict[str, str] | None = None,
    kind: ProbeKind = ProbeKind.CHAT,
    settings: ProbeSettings = FAST,
) -> ProbeResult:
    async with make_client(settings) as client:
        return await probe(client, endpoint, ENV if env is None else env, settings, kind)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("field", ["content", "reasoning", "reasoning_content"])
async def test_first_token_counts_any_text_field(field: str) -> None:
    body = sse(
        delta(role="assistant", content=""),
        delta(**{field: "Hel"}),
        delta(**{field: "lo"}),
        delta(content="!"),
        delta("stop"),
    )
    with respx.mock:
        respx.post(URL).mock(return_value=stream_response(body))
        r = await run()
    assert r.ok and r.error is None and r.status == 200
    assert r.output_tokens == 3  # no usage: counted chunks carrying text
    assert r.ttft_ms is not None and r.total_ms is not None and r.ttft_ms <= r.total_ms
    assert r.headers_ms is not None and r.headers_ms <= r.ttft_ms


async def test_usage_wins_over_chunk_count_and_groq_extension() -> None:
    body = sse(delta(content="a"), delta(content="b"), delta("stop"),
               {"choices": [], "usage": {"completion_tokens": 57}})  # fmt: skip
    groq = sse(delta(content="a"), {"choices": [], "x_groq": {"usage": {"completion_tokens": 9}}},
               delta("stop"))  # fmt: skip
    with respx.mock:
        route = respx.post(URL)
        route.side_effect = [stream_response(body), stream_response(groq)]
        first, second = await run(), await run()
        sent = json.loads(route.calls[0].request.content)
    assert first.output_tokens == 57 and second.output_tokens == 9
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["reasoning_effort"] == "low" and sent["max_tokens"] >= 64
    assert sent["model"] == "openai/gpt-oss-120b"
    assert route.calls[0].request.headers["authorization"] == f"Bearer {KEY}"


async def test_done_without_finish_reason_is_ok_but_neither_is_bad() -> None:
    with respx.mock:
        route = respx.post(URL)
        route.side_effect = [
            stream_response(sse(delta(content="x"))),
            stream_response(sse(delta(content="x"), done=False)),
        ]
        assert (await run()).ok
        cut = await run()
    assert cut.error is ErrorKind.BAD_RESPONSE and "without finish_reason" in cut.message


async def test_ignores_comments_and_event_lines() -> None:
    body = b": OPENROUTER PROCESSING\n\nevent: message\n" + sse(delta(content="x"), delta("stop"))
    with respx.mock:
        respx.post(URL).mock(return_value=stream_response(body))
        assert (await run()).ok


async def test_non_streamed_json_completion_is_accepted() -> None:
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
            "usage": {"completion_tokens": 5}}  # fmt: skip
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=body))
        r = await run()
    assert r.ok and r.output_tokens == 5


STATUS_CASES = [
    (401, {"error": {"message": f"Invalid API key {KEY}"}}, ErrorKind.AUTH),
    (403, {"error": "forbidden"}, ErrorKind.AUTH),
    (402, {"error": {"message": "payment required"}}, ErrorKind.AUTH),
    (404, {"error": {"message": "not found"}}, ErrorKind.NOT_FOUND),
    (400, {"error": {"message": "The model `x` does not exist"}}, ErrorKind.MODEL_MISSING),
    (404, {"error": {"message": "The model `x` does not exist"}}, ErrorKind.MODEL_MISSING),
    (404, {"error": {"code": "model_not_found", "message": "gone"}}, ErrorKind.MODEL_MISSING),
    (400, {"error": {"message": "max_tokens too large"}}, ErrorKind.BAD_RESPONSE),
    (500, {"error": {"message": "boom"}}, ErrorKind.SERVER),
    (502, "<html><title>502 Bad Gateway</title></html>", ErrorKind.SERVER),
    (503, {"status": 503, "status_message": "overloaded"}, ErrorKind.SERVER),
    (529, {"detail": "Overloaded"}, ErrorKind.SERVER),
]


@pytest.mark.parametrize(("status", "body", "kind"), STATUS_CASES)
async def test_status_codes_classify(status: int, body: Any, kind: ErrorKind) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(status, content=content))
        r = await run()
    assert (r.ok, r.error, r.status) == (False, kind, status)
    assert r.message.startswith(f"HTTP {status}")
    assert KEY not in r.message


async def test_error_messages_are_readable() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head></html>"
    with respx.mock:
        route = respx.post(URL)
        route.side_effect = [
            httpx.Response(503, json={"status": 503, "status_message": "model overloaded"}),
            httpx.Response(502, content=html),
        ]
        oxen, gateway = await run(), await run()
    assert oxen.message == "HTTP 503: model overloaded"
    assert gateway.message == "HTTP 502: an HTML page (502 Bad Gateway)"


async def test_rate_limit_keeps_retry_after_and_headers() -> None:
    headers = {"retry-after": "17", "x-ratelimit-remaining-requests": "0"}
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(429, json={"error": {"message": "slow"}}, headers=headers)
        )
        r = await run()
    assert r.error is ErrorKind.RATE_LIMITED and r.retry_after_s == 17
    assert r.rate_limit == headers


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"<!doctype html><html><title>Login</title></html>", "text/html", "HTML page (Login)"),
        (b'data: {"choices": [{"delta": {"content": "x"\n\n', "text/event-stream", "broken JSON"),
        (b"{not json", "application/json", "JSON body is broken"),
        (sse(delta("stop")), "text/event-stream", "without a single token"),
        (b"<html>surprise</html>\n", "text/event-stream", "HTML page"),
        (sse({"error": {"message": "upstream died", "code": 500}}), "text/event-stream",
         "error inside the stream"),
    ],
)  # fmt: skip
async def test_bad_responses(body: bytes, content_type: str, needle: str) -> None:
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(200, content=body, headers={"content-type": content_type})
        )
        r = await run()
    assert not r.ok and needle in r.message
    assert r.error in (ErrorKind.BAD_RESPONSE, ErrorKind.SERVER)


async def test_redirect_is_not_followed_and_key_stays_home() -> None:
    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(307, headers={"location": "https://evil.test/v1"})
        )
        evil = respx.post("https://evil.test/v1")
        r = await run()
    assert r.error is ErrorKind.BAD_RESPONSE and "evil.test" in r.message
    assert not evil.called


@pytest.mark.parametrize(
    ("exc", "kind", "needle"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), ErrorKind.NETWORK, "DNS"),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.NETWORK, "refused"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), ErrorKind.NETWORK, "TLS"),
        (httpx.ConnectTimeout("timed out"), ErrorKind.TIMEOUT, "could not connect"),
        (httpx.ReadTimeout("timed out"), ErrorKind.TIMEOUT, "response headers"),
    ],
)
async def test_transport_failures(exc: Exception, kind: ErrorKind, needle: str) -> None:
    with respx.mock:
        respx.post(URL).mock(side_effect=exc)
        r = await run()
    assert (r.ok, r.error) == (False, kind) and needle in r.message


async def test_stream_cut_mid_way_is_bad_response() -> None:
    async def cut() -> AsyncIterator[bytes]:
        yield sse(delta(content="x"), done=False)
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    with respx.mock:
        respx.post(URL).mock(
            return_value=httpx.Response(
                200, content=cut(), headers={"content-type": "text/event-stream"}
            )
        )
        r = await run()
    assert r.error is ErrorKind.BAD_RESPONSE and "dropped mid-stream after 1" in r.message


async def test_missing_key_sends_nothing() -> None:
    with respx.mock:
        route = respx.post(URL)
        r = await run(env={})
    assert not route.called
    assert r.error is ErrorKind.NO_KEY and "EXAMPLE_KEY" in r.message


async def test_oversized_line_is_cut_off() -> None:
    body = b"data: " + b"x" * 300_000 + b"\n\n"
    settings = ProbeSettings(connect_s=2, first_token_s=2, total_s=4, max_line_bytes=100_000)
    with respx.mock:
        respx.post(URL).mock(return_value=stream_response(body))
        r = await run(settings=settings)
    assert r.error is ErrorKind.BAD_RESPONSE and "exceeded" in r.message


async def test_modelslab_dialect_puts_key_and_model_in_body() -> None:
    endpoint = ENDPOINT.model_copy(update={"dialect": "modelslab", "model": "gpt-oss-free"})
    with respx.mock:
        route = respx.post(URL).mock(
            return_value=stream_response(sse(delta(content="x"), delta("stop")))
        )
        assert (await run(endpoint)).ok
        request = route.calls[0].request
    body = json.loads(request.content)
    assert body["key"] == KEY and body["model_id"] == "gpt-oss-free" and "model" not in body
    assert "authorization" not in request.headers


async def test_cloudflare_account_id_goes_into_the_url() -> None:
    endpoint = ENDPOINT.model_copy(
        update={"dialect": "cloudflare", "base_url": "https://cf.test/accounts/{CF_ACCOUNT}/ai/v1"}
    )
    with respx.mock:
        route = respx.post("https://cf.test/accounts/acc123/ai/v1/chat/completions").mock(
            return_value=stream_response(sse(delta(content="x"), delta("stop")))
        )
        assert (await run(endpoint, env={**ENV, "CF_ACCOUNT": "acc123"})).ok
        assert route.called
        missing = await run(endpoint)
    assert missing.error is ErrorKind.NO_KEY and "CF_ACCOUNT" in missing.message


def tool_chunks(arguments: str, name: str = "get_weather") -> bytes:
    first = {"index": 0, "id": "c1", "type": "function",
             "function": {"name": name, "arguments": ""}}  # fmt: skip
    pieces = [arguments[i : i + 5] for i in range(0, len(arguments), 5)]
    rest = [delta(tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in pieces]
    return sse(delta(tool_calls=[first]), *rest, delta("tool_calls"))


@pytest.mark.parametrize(
    ("body", "ok", "needle"),
    [
        (tool_chunks('{"city": "Paris"}'), True, ""),
        (tool_chunks('{"city": "Par'), False, "not valid JSON"),
        (tool_chunks('{"town": "Paris"}'), False, "lack the required 'city'"),
        (tool_chunks('{"city": "Paris"}', name="rm_rf"), False, "unknown tool"),
        (sse(delta(content="It is sunny."), delta("stop")), False, "instead of calling"),
    ],
)
async def test_tool_call_probe(body: bytes, ok: bool, needle: str) -> None:
    with respx.mock:
        route = respx.post(URL).mock(return_value=stream_response(body))
        r = await run(kind=ProbeKind.TOOLS)
        sent = json.loads(route.calls[0].request.content)
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert r.kind is ProbeKind.TOOLS and r.ok is ok and needle in r.message


def test_redact_hides_real_and_echoed_keys() -> None:
    text = f"bad key {KEY}; Authorization: Bearer abc.def; other sk-proj-1234567890abcdef"
    clean = redact(text, [KEY])
    assert KEY not in clean and "abc.def" not in clean and "1234567890abcdef" not in clean
    assert clean.count("***") == 3


def test_retry_after_forms() -> None:
    assert retry_after_seconds("12") == 12
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_real_refused_connection_is_network() -> None:
    import socket

    with socket.socket() as sock:  # a port that was just free: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = ENDPOINT.model_copy(update={"base_url": f"http://127.0.0.1:{port}/v1"})
    r = await run(endpoint)
    assert r.error is ErrorKind.NETWORK and r.message == "connection refused by 127.0.0.1"
