"""The stamped network backend on real loopback sockets: kernel stamps, fallback, TLS."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from monitor.catalog import Endpoint
from monitor.core.models import ProbeResult, ProbeSettings
from monitor.probe import probe
from monitor.sim.fleet import FleetProfile, FleetServer, catalogue_yaml
from monitor.upstream import stamped
from monitor.upstream.client import make_client
from monitor.upstream.stamped import STAMPS_POSSIBLE, StampedBackend
from monitor.upstream.timing import MIN_DECODE_TOKENS
from tests.helpers import FLEET_KEY, catalog_of, self_signed, sim

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not STAMPS_POSSIBLE, reason="kernel receive stamps are Linux-only"),
]
SETTINGS = ProbeSettings(connect_s=5, first_token_s=10, total_s=20)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["refused", "no ancillary data"])
def stamps_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two ways a platform withholds stamps: the option is refused, or no stamp comes."""
    StampedBackend()  # its machine-wide keeper socket is made before the option is broken
    if request.param == "refused":
        monkeypatch.setattr(stamped, "SO_TIMESTAMPNS", 0x7FFF)  # no such option
    else:
        monkeypatch.setattr(stamped, "ANCILLARY_BYTES", 0)
    return str(request.param)


async def test_a_late_read_reports_when_the_bytes_arrived() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        stream = await StampedBackend().connect_tcp("127.0.0.1", server.getsockname()[1])
        peer, _ = server.accept()  # the kernel completed the handshake already
        with peer:
            before = time.perf_counter()
            peer.sendall(b"first")
            late = time.perf_counter()  # the read starts only after this
            assert await stream.read(100) == b"first"
            returned = time.perf_counter()
            first = stream.last_arrival
            peer.sendall(b"second")
            assert await stream.read(100) == b"second"
            second = stream.last_arrival
        await stream.aclose()
    assert first is not None and second is not None
    assert first.clock == second.clock == "kernel"
    assert before <= first.at <= late < returned
    assert second.read == first.read + 1 and second.at >= returned


async def test_without_stamps_a_read_records_when_it_returned(stamps_off: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        stream = await StampedBackend().connect_tcp("127.0.0.1", server.getsockname()[1])
        peer, _ = server.accept()
        with peer:
            peer.sendall(b"data")
            late = time.perf_counter()
            assert await stream.read(100) == b"data"
        await stream.aclose()
    arrival = stream.last_arrival
    assert arrival is not None and arrival.clock == "monotonic" and arrival.at >= late
    assert stream.kernel is (stamps_off != "refused")


def sse_response(*deltas: dict[str, Any]) -> bytes:
    events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    head = (
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return (head + body).encode()


@asynccontextmanager
async def one_write_server(response: bytes) -> AsyncIterator[Endpoint]:
    """A loopback provider sending headers and the whole stream in a single write."""

    async def answer(client: anyio.abc.SocketStream) -> None:
        async with client:
            request = b""
            while b"\r\n\r\n" not in request:
                request += await client.receive()
            head, _, body = request.partition(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.I)
            while length and len(body) < int(length.group(1)):
                body += await client.receive()
            await client.send(response)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, answer)
        yield Endpoint(id="loop", name="Loop", base_url=f"http://127.0.0.1:{port}/v1", model="m")
        group.cancel_scope.cancel()


async def probe_once(endpoint: Endpoint) -> ProbeResult:
    async with make_client(SETTINGS) as client:
        return await probe(client, endpoint, {}, SETTINGS)


@pytest.mark.parametrize("stamps", ["on", "off"])
async def test_a_stream_read_at_once_has_no_decode_speed(
    stamps: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if stamps == "off":
        StampedBackend()
        monkeypatch.setattr(stamped, "SO_TIMESTAMPNS", 0x7FFF)
    tokens = [{"content": f"w{i} "} for i in range(MIN_DECODE_TOKENS * 3)]
    async with one_write_server(sse_response(*tokens)) as endpoint:
        r = await probe_once(endpoint)
    assert r.ok, r.message
    assert r.output_tokens == len(tokens) and r.tokens_per_s is None
    assert r.clock == ("kernel" if stamps == "on" else "monotonic")
    assert r.ttft_ms is not None and r.ttfa_ms == r.ttft_ms


async def test_probe_over_tls_uses_the_stamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # make_client trusts it as it would a CA
    profile = FleetProfile(
        api_key=FLEET_KEY, endpoints=[sim("tls", reasoning_tokens=4, tokens_per_s=500)]
    )
    connects: list[str] = []

    async def trace(event: str, info: Any) -> None:
        if event == "connection.connect_tcp.complete":
            connects.append(event)

    with FleetServer(profile, ssl_certfile=cert, ssl_keyfile=key) as server:
        path = tmp_path / "tls.yaml"
        path.write_text(catalogue_yaml(profile, server.base_url))
        (endpoint,) = catalog_of(path).enabled()
        async with make_client(SETTINGS) as client:
            r = await probe(client, endpoint, server.env(), SETTINGS)
            models = f"{endpoint.base_url}/models"
            auth = {"authorization": f"Bearer {FLEET_KEY}"}
            streams = []
            for _ in range(2):  # read in full, so the second request reuses the connection
                response = await client.get(models, headers=auth, extensions={"trace": trace})
                assert response.status_code == 200
                streams.append(response.extensions["network_stream"])
    assert r.ok, r.message
    assert r.clock == "kernel"
    assert r.headers_ms is not None and r.ttft_ms is not None and r.ttfa_ms is not None
    assert r.total_ms is not None and r.headers_ms <= r.ttft_ms <= r.ttfa_ms <= r.total_ms
    assert len(connects) == 1 and streams[0] is streams[1]
    assert isinstance(streams[0], stamped.TLSStream)
    assert streams[0].last_arrival is not None and streams[0].last_arrival.clock == "kernel"


async def test_untrusted_certificate_is_still_a_tls_failure(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    profile = FleetProfile(api_key=FLEET_KEY, endpoints=[sim("tls")])
    with FleetServer(profile, ssl_certfile=cert, ssl_keyfile=key) as server:
        path = tmp_path / "tls.yaml"
        path.write_text(catalogue_yaml(profile, server.base_url))
        (endpoint,) = catalog_of(path).enabled()
        async with make_client(SETTINGS) as client:
            r = await probe(client, endpoint, server.env(), SETTINGS)
    assert r.message.startswith("TLS failure with 127.0.0.1: ")
    assert "CERTIFICATE_VERIFY_FAILED" in r.message
