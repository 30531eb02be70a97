"""What a router adds to time to first token: ours and the LiteLLM proxy, side by side with
calling the provider directly, against the same simulated upstream in the same run.

Every party has its own process: the simulated fleet (one endpoint, a fixed 100 ms TTFT),
our router (`oss-monitor router`, as a user runs it), the LiteLLM proxy when it is installed,
and the clients: one at 1 stream; at 50 streams several (`--clients`, default 5), each a bare
asyncio HTTP/1.1 loop on keep-alive connections, so the client is not the bottleneck. TTFT is
request written -> first read holding a delta with content or reasoning. Rounds of N
concurrent requests go to one target at a time, the targets in rotating order; each router's
round is paired with the direct round next to it, and "added" is the p50/p99 of the
differences between the two rounds' sorted TTFTs (so drift and another process's burst hit
both sides). CPU seconds per 100 requests are each router's processes' during its own rounds;
RSS at the end.

    python bench/router_overhead.py [--rounds 100,20] [--compare REF]

`--compare REF` adds our router as it was at a git commit (run from `git archive`), to say
what a change bought in the same run; `--compare REF:asyncio` runs it as if uvloop and
httptools were not installed (`--compare :asyncio`: the working tree so).

LiteLLM is never a dependency of the project: install it for the bench only, in its own venv
(its pins clash with ours), and the bench finds it there (or pass --litellm PATH):

    python3 -m venv .bench-venv && .bench-venv/bin/pip install 'litellm[proxy]'

Without it the LiteLLM rows are skipped, with a message. Its telemetry is off. To profile our
router under load, run py-spy (`pip install py-spy`, for profiling only, not a dependency)
on the pid the bench prints: `py-spy record -o router.svg -d 20 --pid PID` with --rounds 1,200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import yaml
from common import FLEET_KEY, cpu_seconds, fleet, fleet_env, machine, p99, rss_mb, sim

ROOT = Path(__file__).resolve().parents[1]
TTFT_MS = 100
UPSTREAM = sim("bench", TTFT_MS, headers_ms=0, tokens_per_s=200, output_tokens=16,
               reasoning_tokens=0)  # fmt: skip
MODEL = "openai/gpt-oss-120b"  # what the fleet serves
LITELLM_KEY = "sk-bench-0000000000000000"
BODY = {"model": "gpt-oss-120b", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
# A delta with text, whatever the JSON spacing: not the role chunk's empty content.
TOKEN = re.compile(rb'"(?:content|reasoning|reasoning_content)": ?"[^"]')
END = b"\r\n0\r\n\r\n"  # the last chunk of a chunked body

Target = tuple[int, str, dict[str, str], dict[str, Any]]  # port, path, headers, body


# ---------------------------------------------------------------- the client processes


def request_bytes(port: int, path: str, headers: dict[str, str], body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}",
             "content-type: application/json", f"content-length: {len(data)}",
             *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Stream:
    """One keep-alive connection; `ttft` sends one request and reads its whole answer."""

    def __init__(self, port: int, request: bytes):
        self.port, self.request = port, request
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ttft(self) -> float:
        if self.conn is None:
            self.conn = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.conn
        start = time.perf_counter()
        writer.write(self.request)
        first, seen = None, b""
        while not seen.endswith(END):
            data = await reader.read(1 << 16)
            if not data:
                self.conn = None
                raise RuntimeError(f"port {self.port} closed the connection: {seen[:200]!r}")
            if first is None and not seen and not data.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"port {self.port} answered {data[:300]!r}")
            seen = seen[-64:] + data  # a tail, so a marker split across two reads is found
            if first is None and TOKEN.search(seen):
                first = time.perf_counter()
        if first is None:
            raise RuntimeError(f"port {self.port} answered without a token")
        return (first - start) * 1000


def client(pipe: Connection, targets: dict[str, Target], streams: int) -> None:
    """Run rounds as the parent says: a target's name in, `streams` TTFTs (ms) out."""

    async def serve() -> None:
        pools = {name: [Stream(t[0], request_bytes(*t)) for _ in range(streams)]
                 for name, t in targets.items()}  # fmt: skip
        loop = asyncio.get_running_loop()
        while (name := await loop.run_in_executor(None, pipe.recv)) is not None:
            pipe.send(await asyncio.gather(*(s.ttft() for s in pools[name])))

    asyncio.run(serve())


class Clients:
    """`processes` client processes sharing `streams` concurrent streams."""

    def __init__(self, targets: dict[str, Target], streams: int, processes: int):
        spawn = multiprocessing.get_context("spawn")
        shares = [streams // processes + (i < streams % processes) for i in range(processes)]
        self.pipes, self.procs = [], []
        for share in filter(None, shares):
            mine, theirs = spawn.Pipe()
            proc = spawn.Process(target=client, args=(theirs, targets, share), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    def round(self, name: str) -> list[float]:
        for pipe in self.pipes:
            pipe.send(name)
        return [ms for pipe in self.pipes for ms in pipe.recv()]

    def close(self) -> None:
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            pipe.send(None)
            proc.join(timeout=10)


# ---------------------------------------------------------------- the routers


@dataclass
class Launch:
    """How to start a router, and how to reach it."""

    command: list[str]
    env: dict[str, str]
    port: int
    ready: str  # a URL that answers once it serves
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def server(launch: Launch) -> Iterator[int]:
    """A router process; yields its pid once it serves. Stopped at exit."""
    command, env, ready = launch.command, launch.env, launch.ready
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start: {' '.join(command)}")
            try:
                if httpx.get(ready, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# `--compare REF:asyncio`: that router as if uvloop and httptools were not installed.
NO_UVLOOP = "import sys\nsys.modules['uvloop'] = sys.modules['httptools'] = None\n"


def ours(catalogue: Path, folder: Path, source: Path | None = None, plain: bool = False) -> Launch:
    port = free_port()
    db = f"sqlite:///{folder / f'router-{port}.db'}"
    command = [sys.executable, "-m", "monitor", "router", "--providers", str(catalogue),
               "--db", db, "--port", str(port)]  # fmt: skip
    env = fleet_env()
    paths = [str(source)] if source is not None else []  # another commit's code
    if plain:
        blocker = folder / f"plain-{port}"
        blocker.mkdir()
        (blocker / "sitecustomize.py").write_text(NO_UVLOOP)
        paths.insert(0, str(blocker))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return Launch(command, env, port, f"http://127.0.0.1:{port}/v1/models")


def litellm(path: str, upstream: str, folder: Path) -> Launch:
    port = free_port()
    config = folder / "litellm.yaml"
    config.write_text(yaml.safe_dump({
        "model_list": [{"model_name": "gpt-oss-120b", "litellm_params": {
            "model": f"openai/{MODEL}", "api_base": upstream, "api_key": FLEET_KEY}}],
        "litellm_settings": {"telemetry": False, "set_verbose": False},
        "general_settings": {"master_key": LITELLM_KEY},  # it refuses to start without one
    }))  # fmt: skip
    env = {**os.environ, "LITELLM_TELEMETRY": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR", "DO_NOT_TRACK": "1"}  # fmt: skip
    command = [path, "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", "1"]  # fmt: skip
    headers = {"authorization": f"Bearer {LITELLM_KEY}"}
    return Launch(command, env, port, f"http://127.0.0.1:{port}/health/liveliness", headers)


def archived(ref: str, folder: Path) -> Path:
    """The repository's tree at `ref`, for --compare."""
    out = folder / f"src-{ref}-{len(list(folder.iterdir()))}"
    out.mkdir()
    tar = out.with_suffix(".tar")
    subprocess.run(["git", "archive", "-o", str(tar), ref], cwd=ROOT, check=True)
    with tarfile.open(tar) as archive:
        archive.extractall(out, filter="data")
    return out


def process_cpu(pid: int | None) -> float:
    return sum(cpu_seconds(p) for p in tree(pid)) if pid else 0.0


def tree(pid: int) -> list[int]:
    """A process and its descendants (LiteLLM may run uvicorn in a child)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(p for kid in kids for p in tree(int(kid)))]


# ---------------------------------------------------------------- measuring


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(targets: dict[str, Target], pids: dict[str, int], streams: int, rounds: int,
            processes: int) -> dict[str, Any]:  # fmt: skip
    clients = Clients(targets, streams, processes)
    names = list(targets)
    found: dict[str, list[list[float]]] = {name: [] for name in names}
    try:
        for name in names * 2:  # warm up connections and code paths
            clients.round(name)
        cpu = dict.fromkeys(names, 0.0)  # a router's CPU time during its own rounds
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                before = process_cpu(pids.get(name))
                found[name].append(clients.round(name))
                cpu[name] += process_cpu(pids.get(name)) - before
    finally:
        clients.close()
    figures: dict[str, Any] = {}
    for name in names:
        flat = [ms for block in found[name] for ms in block]
        row = {"p50": quantile(flat, 0.5), "p99": p99(flat), "n": len(flat)}
        if name != "direct":
            gaps = [a - b for mine, theirs in zip(found[name], found["direct"], strict=True)
                    for a, b in zip(sorted(mine), sorted(theirs), strict=True)]  # fmt: skip
            row |= {"added_p50": quantile(gaps, 0.5), "added_p99": p99(gaps),
                    "cpu_per_100": cpu[name] / len(flat) * 100,
                    "rss": sum(rss_mb(p) for p in tree(pids[name]))}  # fmt: skip
        figures[name] = row
    return figures


def report(streams: int, figures: dict[str, Any]) -> None:
    for name, row in figures.items():
        extra = ""
        if name != "direct":
            extra = (f" {row['added_p50']:>9.2f} {row['added_p99']:>7.2f} "
                     f"{row['cpu_per_100']:>9.3f} {row['rss']:>6.0f}")  # fmt: skip
        print(f"{streams:>7} {name:>14} {row['n']:>5} {row['p50']:>8.2f} {row['p99']:>8.2f}"
              + extra, flush=True)  # fmt: skip


def find_litellm(given: str | None) -> str | None:
    if given:
        return given
    local = ROOT / ".bench-venv" / "bin" / "litellm"
    return str(local) if local.exists() else shutil.which("litellm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        default="100,20",
        help="rounds per target at 1 and at 50 streams (default %(default)s)",
    )
    parser.add_argument("--streams", default="1,50", help="concurrencies (default %(default)s)")
    parser.add_argument(
        "--clients",
        type=int,
        default=5,
        help="client processes above 1 stream (default %(default)s)",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="REF",
        help="also our router at this git commit (repeatable); REF:asyncio without uvloop "
        "and httptools; :asyncio alone for the working tree so",
    )
    parser.add_argument("--litellm", help="the litellm command (default: .bench-venv, PATH)")
    parser.add_argument("--no-litellm", action="store_true")
    args = parser.parse_args()  # fmt: skip
    levels = [int(s) for s in args.streams.split(",")]
    rounds = [int(r) for r in args.rounds.split(",")]
    command = None if args.no_litellm else find_litellm(args.litellm)
    if command is None and not args.no_litellm:
        print("LiteLLM is not installed: its rows are skipped (see this script's docstring)")
    run(list(zip(levels, rounds, strict=True)), args.clients, args.compare, command, report)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(
    plan: list[tuple[int, int]],
    clients: int,
    compare: list[str],
    litellm_command: str | None,
    show: Callable[[int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """(streams, rounds) in turn against every target; the figures of each, shown as they come."""
    found = []
    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        catalogue = stack.enter_context(fleet([UPSTREAM], folder))
        base = yaml.safe_load(catalogue.read_text())["providers"][0]["base_url"]
        direct = {"authorization": f"Bearer {FLEET_KEY}"}
        port = int(base.split(":")[2].split("/")[0])
        targets = {"direct": (port, "/bench/v1/chat/completions", direct, {**BODY, "model": MODEL})}
        routers = {"ours": ours(catalogue, folder)}
        for spec in compare:
            ref, _, variant = spec.partition(":")
            source = archived(ref, folder) if ref else None
            routers[f"ours@{spec[:16]}"] = ours(catalogue, folder, source, variant == "asyncio")
        if litellm_command:
            routers["litellm"] = litellm(litellm_command, base, folder)
        pids: dict[str, int] = {}
        for name, launch in routers.items():
            pids[name] = stack.enter_context(server(launch))
            targets[name] = (launch.port, "/v1/chat/completions", launch.headers, BODY)
        if show:
            print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} "
                  f"{os.getloadavg()[1]:.2f}; upstream TTFT {TTFT_MS} ms; pids "
                  + ", ".join(f"{n} {p}" for n, p in pids.items()))  # fmt: skip
            print(f"{'streams':>7} {'target':>14} {'n':>5} {'TTFT p50':>8} {'p99':>8} "
                  f"{'added p50':>9} {'p99':>7} {'CPU s/100':>9} {'RSS MB':>6}   (ms)")  # fmt: skip
        for streams, count in plan:
            processes = 1 if streams == 1 else min(clients, streams)
            found.append(measure(targets, pids, streams, count, processes))
            if show:
                show(streams, found[-1])
    return found


if __name__ == "__main__":
    main()
