"""Measurement under load: TTFT and decode-speed error against when the tokens really left.

    python bench/measurement.py [--rounds 3] [--at-once 200] [--no-hog]

A raw loopback provider (its own process, pinned to the last core) answers every request with
headers and the first token in one write after a fixed delay, then one token per write at a
fixed rate, the last one together with [DONE]. It records when the request reached the machine
(its kernel receive stamp) and when the first, first-answer and last token writes returned.
Each path then measures 200 requests at once:
- stamped: the probe as shipped (kernel receive stamps, make_client()),
- clock-only: the same probe with stamps off (make_client(kernel_stamps=False)),
- curl: one `curl -Z` process, time_starttransfer - time_pretransfer (headers come with the
  first token, so this is its TTFT); no decode speed (see curl_errors).
Error = measured - real: TTFT against (first token sent - request read), decode speed against
(tokens - 1) / (last sent - first sent). With the hog (default), a CPU-bound process shares the
prober's core (sched_setaffinity, as `taskset` does); the provider keeps a core of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
from common import header, median, p99

from monitor.catalog import Endpoint
from monitor.core.models import ProbeResult, ProbeSettings
from monitor.probe import probe
from monitor.upstream.client import make_client
from monitor.upstream.stamped import StampedBackend, StampedStream

TTFT_MS = 150  # plus 10 ms per endpoint index modulo 10, so the bursts do not coincide
REASONING, ANSWER = 4, 16  # tokens
TOKENS_PER_S = 100
SETTINGS = ProbeSettings(connect_s=30, first_token_s=60, total_s=120)
PROBER_CORE, PROVIDER_CORE = 0, (os.cpu_count() or 1) - 1

# ---------------------------------------------------------------- the provider (child process)


def _event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    data = json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})
    line = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(line), line)


HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
    b"connection: close\r\n\r\n"
)
# The last token goes with the finish, usage, [DONE] and the end of the body: curl's
# time_total then marks the last token too.
LAST = _event({}, "stop", usage={"completion_tokens": REASONING + ANSWER})
DONE = b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


async def _answer(stream: StampedStream, records: list[Any]) -> None:
    try:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await stream.read(65536)
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
             if line.startswith(b"content-length:")),
            0,
        )  # fmt: skip
        while len(body) < length:
            body += await stream.read(65536)
        # When the request's last bytes reached this machine (kernel stamp): our own lateness
        # in reading it must not count against the prober.
        assert stream.last_arrival is not None
        arrived = round(stream.last_arrival.at * 1e9)
        path = head.split(b" ", 2)[1].decode()
        if path == "/records":
            body = json.dumps(records).encode()
            records.clear()
            await stream.send(
                b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
            return
        index = int(path.split("/")[1][1:])
        start = arrived / 1e9 + (TTFT_MS + 10 * (index % 10)) / 1000
        sent: dict[str, int] = {}
        for i in range(REASONING + ANSWER):
            await anyio.sleep(max(0.0, start + i / TOKENS_PER_S - time.perf_counter()))
            delta = {"reasoning": f"r{i} "} if i < REASONING else {"content": f"w{i} "}
            data = _event(delta)
            if i == 0:
                data = HEAD + data
            if i == REASONING + ANSWER - 1:
                data += LAST + DONE
            await stream.send(data)
            now = time.perf_counter_ns()  # the bytes are in the receiver's queue (loopback)
            sent.setdefault("first", now)
            if i == REASONING:
                sent["answer"] = now
            sent["last"] = now
        records.append({"path": path, "arrived": arrived, **sent})
    finally:
        await stream.aclose()


async def _serve() -> None:
    """Serve until stdin closes; the moments are perf_counter ns, one clock for all."""
    StampedBackend()  # keeps the kernel's receive stamping on
    records: list[Any] = []
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    listener.setblocking(False)
    print(listener.getsockname()[1], flush=True)
    async with anyio.create_task_group() as group:

        async def watch_stdin() -> None:
            await anyio.to_thread.run_sync(sys.stdin.read)
            group.cancel_scope.cancel()

        group.start_soon(watch_stdin)
        while True:
            await anyio.wait_readable(listener)
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            group.start_soon(_answer, StampedStream(conn), records)


@contextmanager
def provider() -> Iterator[int]:
    """The provider in its own process on its own core; yields its port."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {PROVIDER_CORE}),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def hog(enabled: bool) -> Iterator[None]:
    """A CPU-bound process on the prober's core."""
    if not enabled:
        yield
        return
    process = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=lambda: os.sched_setaffinity(0, {PROBER_CORE}),
    )
    try:
        yield
    finally:
        process.kill()
        process.wait(timeout=10)


# ---------------------------------------------------------------- the three paths


def endpoints(port: int, count: int) -> list[Endpoint]:
    return [
        Endpoint(id=f"e{i}", name=f"e{i}", base_url=f"http://127.0.0.1:{port}/e{i}/v1", model="m")
        for i in range(count)
    ]


def records(port: int) -> dict[str, dict[str, int]]:
    found = httpx.get(f"http://127.0.0.1:{port}/records", timeout=30).json()
    return {r["path"].split("/")[1]: r for r in found}


async def _probe_round(catalog: list[Endpoint], kernel_stamps: bool) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    async with make_client(SETTINGS, len(catalog) + 10, kernel_stamps) as client:

        async def one(endpoint: Endpoint) -> None:
            results.append(await probe(client, endpoint, {}, SETTINGS))

        async with anyio.create_task_group() as group:
            for endpoint in catalog:
                group.start_soon(one, endpoint)
    return results


def probe_errors(port: int, catalog: list[Endpoint], kernel_stamps: bool) -> dict[str, list[float]]:
    results = anyio.run(_probe_round, catalog, kernel_stamps)
    sent = records(port)
    errors: dict[str, list[float]] = {"ttft": [], "ttfa": [], "speed": [], "no_speed": []}
    for r in results:
        assert r.ok and r.ttft_ms is not None and r.ttfa_ms is not None, r.message
        real = sent[r.endpoint_id]
        errors["ttft"].append(r.ttft_ms - (real["first"] - real["arrived"]) / 1e6)
        errors["ttfa"].append(r.ttfa_ms - (real["answer"] - real["arrived"]) / 1e6)
        _speed_error(errors, r.tokens_per_s, real)
    return errors


def _speed_error(errors: dict[str, list[float]], measured: float | None, real: Any) -> None:
    if measured is None:
        errors["no_speed"].append(1)
        return
    true = (REASONING + ANSWER - 1) / ((real["last"] - real["first"]) / 1e9)
    errors["speed"].append((measured / true - 1) * 100)


def curl_errors(port: int, catalog: list[Endpoint]) -> dict[str, list[float]]:
    command = [
        "curl", "-sS", "-N", "-Z", "--parallel-max", str(len(catalog)), "-H",
        "content-type: application/json", "-d", '{"stream": true}',
        "-w", "%{url_effective} %{time_pretransfer} %{time_starttransfer}\\n",
    ]  # fmt: skip
    for endpoint in catalog:
        command += ["-o", os.devnull, f"{endpoint.base_url}/chat/completions"]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=300,
        preexec_fn=lambda: os.sched_setaffinity(0, {PROBER_CORE}),
    )  # fmt: skip
    sent = records(port)
    errors: dict[str, list[float]] = {"ttft": [], "ttfa": [], "speed": [], "no_speed": []}
    for line in out.stdout.splitlines():
        url, pre, start = line.split()
        real = sent[url.split("/")[3]]
        errors["ttft"].append(
            (float(start) - float(pre)) * 1000 - (real["first"] - real["arrived"]) / 1e6
        )
        # No decode speed for curl: in parallel (-Z) its time_total comes late by a varying
        # amount (a single transfer's is right), so it does not mark the last token.
    return errors


def run(rounds: int, at_once: int, with_hog: bool) -> dict[str, dict[str, list[float]]]:
    """Per path, the errors of `rounds` rounds of `at_once` simultaneous requests."""
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {PROBER_CORE})
    try:
        return _rounds(rounds, at_once, with_hog)
    finally:
        os.sched_setaffinity(0, cores)


def _rounds(rounds: int, at_once: int, with_hog: bool) -> dict[str, dict[str, list[float]]]:
    found: dict[str, dict[str, list[float]]] = {}
    paths = ["stamped", "clock-only"] + (["curl"] if shutil.which("curl") else [])
    with provider() as port, hog(with_hog):
        catalog = endpoints(port, at_once)
        anyio.run(_probe_round, catalog, True)  # warm-up: first-use costs on both sides
        records(port)
        for _ in range(rounds):
            for path in paths:
                if path == "curl":
                    errors = curl_errors(port, catalog)
                else:
                    errors = probe_errors(port, catalog, path == "stamped")
                totals = found.setdefault(path, {k: [] for k in errors})
                for key, values in errors.items():
                    totals[key] += values
    return found


def _cell(values: list[float], unit: str) -> str:
    if not values:
        return f"{'-':>8} {'-':>8}"
    gaps = [abs(v) for v in values]
    return f"{median(gaps):7.2f}{unit} {p99(gaps):7.2f}{unit}"


def report(title: str, found: dict[str, dict[str, list[float]]]) -> None:
    print(f"\n{title}")
    print(f"{'path':12} | {'|TTFT err| p50, p99':>19} | {'|TTFA err| p50, p99':>19} | "
          f"{'|speed err| p50, p99':>19} | signed TTFT p50 | no speed")  # fmt: skip
    for path, e in found.items():
        print(f"{path:12} | {_cell(e['ttft'], 'ms'):>19} | {_cell(e['ttfa'], 'ms'):>19} | "
              f"{_cell(e['speed'], '%'):>19} | {median(e['ttft']):13.2f}ms | "
              f"{len(e['no_speed'])}/{len(e['ttft'])}")  # fmt: skip
    ours = found["stamped"]
    for other in [p for p in found if p != "stamped"]:
        ratios = []
        for key, pick in (("ttft", median), ("ttft", p99), ("speed", median)):
            mine = pick([abs(v) for v in ours[key]]) if ours[key] else 0
            theirs = pick([abs(v) for v in found[other][key]]) if found[other][key] else 0
            ratios.append(f"{theirs / mine:.1f}x" if mine and found[other][key] else "-")
        print(f"{other} / stamped: TTFT p50 {ratios[0]}, p99 {ratios[1]}; speed p50 {ratios[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--at-once", type=int, default=200)
    parser.add_argument("--no-hog", action="store_true", help="only the idle run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        anyio.run(_serve)
        return
    header("measurement: error vs the real send time, 200 at once (target p50 <= 1 ms, p99 <= 3)")
    print(
        f"{args.rounds} rounds of {args.at_once} at once per path; {REASONING}+{ANSWER} tokens at "
        f"{TOKENS_PER_S}/s; prober on core {PROBER_CORE}, provider on core {PROVIDER_CORE}"
    )
    report("idle", run(args.rounds, args.at_once, with_hog=False))
    if not args.no_hog:
        report("CPU hog on the prober's core", run(args.rounds, args.at_once, with_hog=True))


if __name__ == "__main__":
    main()
