"""What the router adds to time to first token, compared with calling the provider directly.

The simulated fleet and the router each run in their own process on 127.0.0.1; this process is
the client. For 1 and 50 concurrent streams it measures TTFT (request sent -> first delta with
content or reasoning) directly against a fleet endpoint and through the router, interleaved,
and prints p50/p99 of both and what the router adds (the median over blocks of 50 samples of
the difference, see `added`). Target: <= 2 ms p50, <= 10 ms p99 added.

    python bench/router_overhead.py [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import anyio
import httpx
from common import machine

from monitor.sim.fleet import FleetProfile, SimEndpoint

KEY = "sim-bench-key-000000"
# A fixed first-token delay without jitter, so every difference is the router's.
PROFILE = FleetProfile(
    api_key=KEY,
    seed=1,
    endpoints=[
        SimEndpoint(
            id="bench",
            name="bench",
            headers_ms={"mean": 0},
            ttft_ms={"mean": 50},
            tokens_per_s=200,
            output_tokens=16,
        )
    ],
)
BODY = {"model": "gpt-oss-120b", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def serve_fleet(urls: Queue[str], stop: Event) -> None:
    from monitor.sim.fleet import FleetServer

    with FleetServer(PROFILE) as server:
        urls.put(server.base_url)
        stop.wait()


def serve_router(catalogue: str, db: str, urls: Queue[str], stop: Event) -> None:
    from monitor.catalog import load_catalog
    from monitor.router import Router, RouterServer
    from monitor.store import Store

    env = {"OSS_FLEET_KEY": KEY}
    router = Router(load_catalog(catalogue, env=env), Store(db), env)
    with RouterServer(router) as server:
        urls.put(server.url)
        stop.wait()


Target = tuple[str, dict[str, str], dict[str, Any]]  # URL, headers, body


async def ttft(client: httpx.AsyncClient, target: Target) -> float:
    """Milliseconds to the first token; the rest is read too, as a coding tool would."""
    url, headers, body = target
    start = time.perf_counter()
    first = None
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {"):
                delta = (json.loads(line[6:]).get("choices") or [{}])[0].get("delta", {})
                if delta.get("content") or delta.get("reasoning"):
                    first = (time.perf_counter() - start) * 1000
    if first is None:
        raise RuntimeError(f"{url} answered without a token")
    return first


async def measure(targets: dict[str, Target], streams: int, total: int) -> dict[str, list[float]]:
    """Rounds of `streams` concurrent requests, alternating targets so drift hits both."""
    found: dict[str, list[float]] = {name: [] for name in targets}
    limits = httpx.Limits(max_connections=streams * 2, max_keepalive_connections=streams * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for target in targets.values():  # warm up connections and code paths
            await ttft(client, target)

        async def one(name: str) -> None:
            found[name].append(await ttft(client, targets[name]))

        for _ in range(max(1, total // streams)):
            for name in targets:
                async with anyio.create_task_group() as group:
                    for _ in range(streams):
                        group.start_soon(one, name)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


BLOCK = 50  # samples per block: one round at 50 streams, fifty rounds at 1


def added(direct: list[float], router: list[float], q: float) -> float:
    """What the router adds at percentile q: the median over blocks of consecutive rounds of
    (router - direct). The targets ran alternately, so a block compares them under the same
    load, and one noisy block (another process's burst) cannot swing the figure on its own;
    the difference of two whole-run p99s could, and came out negative at 50 streams."""
    starts = range(0, min(len(direct), len(router)) - BLOCK + 1, BLOCK)
    gaps = [percentile(router[i : i + BLOCK], q) - percentile(direct[i : i + BLOCK], q)
            for i in starts]  # fmt: skip
    return statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per target and concurrency")
    args = parser.parse_args()
    from monitor.sim.fleet import catalogue_yaml

    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    urls: Queue[str] = spawn.Queue()
    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp:
        fleet = spawn.Process(target=serve_fleet, args=(urls, stop), daemon=True)
        fleet.start()
        base = urls.get(timeout=30)
        catalogue = Path(tmp, "fleet.yaml")
        catalogue.write_text(catalogue_yaml(PROFILE, base))
        db = f"sqlite:///{Path(tmp, 'bench.db')}"
        router = spawn.Process(
            target=serve_router, args=(str(catalogue), db, urls, stop), daemon=True
        )
        router.start()
        via = urls.get(timeout=30)
        direct = {**BODY, "model": PROFILE.endpoints[0].model}
        targets: dict[str, Target] = {
            "direct": (f"{base}/bench/v1/chat/completions", {"authorization": f"Bearer {KEY}"},
                       direct),
            "router": (f"{via}/chat/completions", {}, BODY),
        }  # fmt: skip
        print(f"machine: {machine()}; fleet, router and client in 3 processes")
        print(f"{'streams':>7} {'n':>5} {'direct p50':>10} {'p99':>7} {'router p50':>10} "
              f"{'p99':>7} {'added p50':>9} {'p99':>7}   (ms)")  # fmt: skip
        try:
            for streams in (1, 50):
                found = anyio.run(measure, targets, streams, args.requests)
                d, r = found["direct"], found["router"]
                p50 = (percentile(d, 0.5), percentile(r, 0.5))
                p99 = (percentile(d, 0.99), percentile(r, 0.99))
                print(f"{streams:>7} {len(r):>5} {p50[0]:>10.2f} {p99[0]:>7.2f} "
                      f"{p50[1]:>10.2f} {p99[1]:>7.2f} {added(d, r, 0.5):>9.2f} "
                      f"{added(d, r, 0.99):>7.2f}")  # fmt: skip
        finally:
            stop.set()
            for process in (router, fleet):
                process.join(timeout=15)
                if process.is_alive():
                    process.terminate()


if __name__ == "__main__":
    main()
