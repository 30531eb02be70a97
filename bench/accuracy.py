"""Accuracy: measured TTFT against the TTFT the fleet injects, with curl beside us.

    python bench/accuracy.py [--probes 100] [--curl 30] [--at-once 200]
Targets: median |measured - injected| <= 3 ms and p99 <= 10 ms, also with 200 probes at once.

What "injected" means here: the fleet sleeps until (request arrival + TTFT) and then sends the
first token. Headers are injected at the same moment (headers_ms = TTFT), so curl's
`time_starttransfer` (first response byte) and our TTFT (first token) name the same instant
and compare like with like. The difference left is the loopback trip both ways, both HTTP
stacks and the fleet's own lateness; the fleet runs in its own process (its own GIL).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import anyio
import httpx
from common import fleet, fleet_env, header, median, p99, sim

from monitor.catalog import Endpoint, load_catalog, resolve
from monitor.core.models import ProbeKind, ProbeSettings
from monitor.probe import payload, probe
from monitor.upstream.client import make_client
from monitor.upstream.dialects import build_request

INJECTED_MS = (50, 200, 1000)


def endpoints(injected: tuple[int, ...]) -> list[dict[str, object]]:
    return [
        sim(f"ttft-{ms}", ms, headers_ms=ms, tokens_per_s=200, reasoning_tokens=2, output_tokens=4)
        for ms in injected
    ]


async def sequential(client: httpx.AsyncClient, endpoint: Endpoint, count: int) -> list[float]:
    """`count` probes one after another on one kept-alive connection; TTFT of each."""
    settings = ProbeSettings()
    found = []
    await probe(client, endpoint, fleet_env(), settings)  # warm-up: first-use costs on both sides
    for _ in range(count):
        result = await probe(client, endpoint, fleet_env(), settings)
        assert result.ok and result.ttft_ms is not None, result.message
        found.append(result.ttft_ms)
    return found


async def measure(catalogue: Path, count: int, at_once: int) -> dict[str, dict[str, list[float]]]:
    """Per endpoint: TTFTs probed alone (the three series side by side) and many at once."""
    catalog = load_catalog(str(catalogue)).enabled()
    found: dict[str, dict[str, list[float]]] = {e.id: {"alone": [], "at_once": []} for e in catalog}
    async with make_client(ProbeSettings(), max(at_once, 10)) as client:

        async def alone(endpoint: Endpoint) -> None:
            found[endpoint.id]["alone"] = await sequential(client, endpoint, count)

        async with anyio.create_task_group() as group:
            for endpoint in catalog:
                group.start_soon(alone, endpoint)

        async def one(endpoint: Endpoint) -> None:
            result = await probe(client, endpoint, fleet_env(), ProbeSettings())
            assert result.ok and result.ttft_ms is not None, result.message
            found[endpoint.id]["at_once"].append(result.ttft_ms)

        # Rounds of `at_once` simultaneous probes until every endpoint has `count` of them.
        while min(len(f["at_once"]) for f in found.values()) < count:
            async with anyio.create_task_group() as group:
                for i in range(at_once):
                    group.start_soon(one, catalog[i % len(catalog)])
    return found


def curl_base(endpoint: Endpoint) -> list[str]:
    """curl with this endpoint's probe request (every fleet endpoint takes the same body)."""
    request = build_request(
        endpoint, resolve(endpoint, fleet_env()), payload(ProbeKind.CHAT, ProbeSettings())
    )
    command = ["curl", "-sS", "-N", "-w", "%{url_effective} %{time_starttransfer}\\n"]
    for name, value in request.headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, "-H", "content-type: application/json", "-d", json.dumps(request.body)]


def curl_ms(catalog: list[Endpoint], count: int, at_once: int = 1) -> dict[str, list[float]]:
    """curl's time_starttransfer (ms) per endpoint: the reference. With `at_once`, rounds of
    that many parallel transfers in one curl process (-Z), round-robin over the endpoints."""
    found: dict[str, list[float]] = {e.id: [] for e in catalog}
    by_url = {f"{e.base_url}/chat/completions": e.id for e in catalog}
    while min(map(len, found.values())) < count:
        command = [*curl_base(catalog[0]), "-Z", "--parallel-max", str(at_once)]
        for i in range(at_once):
            command += ["-o", "/dev/null", f"{catalog[i % len(catalog)].base_url}/chat/completions"]
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
        for line in out.stdout.splitlines():
            url, seconds = line.split()
            found[by_url[url]].append(float(seconds) * 1000)
    return found


def curl_round(catalogue: Path) -> float:
    """Wall ms of curl doing every endpoint's probe request at once in one process (-Z):
    the anchor of a round, measured against the same fleet in the same run."""
    catalog = load_catalog(str(catalogue)).enabled()
    command = [
        *curl_base(catalog[0]),
        "-Z",
        "--parallel-immediate",
        "--parallel-max",
        str(len(catalog)),
    ]
    for endpoint in catalog:
        command += ["-o", "/dev/null", f"{endpoint.base_url}/chat/completions"]
    began = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, timeout=120)
    return (time.perf_counter() - began) * 1000


async def curl_alone(catalog: list[Endpoint], count: int) -> dict[str, list[float]]:
    """One curl process per request, one endpoint's series beside the others (like ours)."""
    found: dict[str, list[float]] = {}

    async def series(endpoint: Endpoint) -> None:
        found.update(await anyio.to_thread.run_sync(curl_ms, [endpoint], count))

    async with anyio.create_task_group() as group:
        for endpoint in catalog:
            group.start_soon(series, endpoint)
    return found


def errors(values: list[float], injected: float) -> tuple[float, float]:
    """(median, p99) of |measured - injected| in ms."""
    gaps = [abs(v - injected) for v in values]
    return median(gaps), p99(gaps)


def run(
    count: int, curl_count: int, at_once: int, folder: Path, injected: tuple[int, ...] = INJECTED_MS
) -> list[dict[str, float]]:
    with fleet(endpoints(injected), folder) as catalogue:
        ours = anyio.run(measure, catalogue, count, at_once)
        catalog = load_catalog(str(catalogue)).enabled()
        curl = anyio.run(curl_alone, catalog, curl_count)
        curl_crowd = curl_ms(catalog, curl_count, at_once)
    rows = []
    for ms in injected:
        key = f"ttft-{ms}"
        figures = {"ours": ours[key]["alone"], "ours_crowd": ours[key]["at_once"],
                   "curl": curl[key], "curl_crowd": curl_crowd[key]}  # fmt: skip
        row: dict[str, float] = {"injected": ms}
        for name, values in figures.items():
            row[f"{name}_median"], row[f"{name}_p99"] = errors(values, ms)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probes", type=int, default=100, help="probes per endpoint and mode")
    parser.add_argument("--curl", type=int, default=30, help="curl requests per endpoint and mode")
    parser.add_argument("--at-once", type=int, default=200)
    args = parser.parse_args()
    header("accuracy: |measured TTFT - injected| in ms (target: median <= 3, p99 <= 10)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args.probes, args.curl, args.at_once, Path(tmp))
    print(f"{'':8} | {'ours':^15} | {'curl':^15} | {'ours':^15} | {'curl':^15}")
    print(f"{'injected':8} | {'alone':^15} | {'alone':^15} | "
          f"{f'{args.at_once} at once':^15} | {f'{args.at_once} at once':^15}")  # fmt: skip
    print(f"{'ms':>8} | " + " | ".join(["median     p99".rjust(15)] * 4))
    for r in rows:
        cells = [f"{r[f'{n}_median']:7.2f} {r[f'{n}_p99']:7.2f}"
                 for n in ("ours", "curl", "ours_crowd", "curl_crowd")]  # fmt: skip
        print(f"{r['injected']:>8} | " + " | ".join(cells))
    print(f"\nours: {args.probes} probes per endpoint and mode; curl: {args.curl}")


if __name__ == "__main__":
    main()
