"""Store: batched insert rate, `rank` over 24 h of stored probes, bytes on disk per probe.

    python bench/store_rank.py [--endpoints 100] [--per-endpoint 10000]
Targets: >= 20,000 rows/s; rank over 1,000,000 probes (100 x 10,000) in <= 200 ms; < 200 B/row.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import header, median

from monitor.catalog import Endpoint
from monitor.core.models import EndpointStats, ErrorKind, ProbeKind, ProbeResult
from monitor.ranking import compute
from monitor.store import Store

BATCH = 100  # probe times per batch: a batch holds BATCH x endpoints rows


def results(ids: list[str], at: datetime, rng: random.Random, tools: bool) -> list[ProbeResult]:
    """One probe of every endpoint at one moment: 2% failures, one in ten a tool probe."""
    batch = []
    for endpoint_id in ids:
        ok = rng.random() > 0.02
        batch.append(
            ProbeResult(
                endpoint_id=endpoint_id,
                kind=ProbeKind.TOOLS if tools else ProbeKind.CHAT,
                started_at=at,
                ok=ok,
                error=None if ok else ErrorKind.SERVER,
                status=200 if ok else 500,
                message="" if ok else "HTTP 500: The service is temporarily overloaded",
                headers_ms=round(rng.uniform(10, 50), 3),
                ttft_ms=round(rng.uniform(100, 900), 3) if ok else None,
                total_ms=round(rng.uniform(900, 2000), 3) if ok else 20.0,
                output_tokens=32 if ok else None,
                tokens_per_s=round(rng.uniform(50, 300), 2) if ok else None,
                new_connection=False,
            )
        )
    return batch


def fill(store: Store, ids: list[str], per_endpoint: int) -> float:
    """Store `per_endpoint` probes of each endpoint spread over the last 24 h; rows/s."""
    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(hours=23.95)
    step = timedelta(hours=23.9) / per_endpoint
    spent = 0.0
    for first in range(0, per_endpoint, BATCH):
        batch = []
        for i in range(first, min(per_endpoint, first + BATCH)):
            batch += results(ids, start + step * i, rng, tools=i % 10 == 1)
        began = time.perf_counter()
        store.add(batch, prober="bench-host-01")  # a realistic host name: it is in every row
        spent += time.perf_counter() - began
    return len(ids) * per_endpoint / spent


def rank(store: Store, endpoints: list[Endpoint], window: timedelta) -> list[EndpointStats]:
    """What `oss-monitor rank` computes, on the fast path (rollups + latest samples)."""
    since = datetime.now(UTC) - window
    ids = [e.id for e in endpoints]
    return compute(endpoints, store.latest(since, ids), {}, "24h", tallies=store.tallies(since))


def run(endpoints: int, per_endpoint: int, folder: Path, repeats: int = 5) -> dict[str, Any]:
    path = folder / "bench.db"
    store = Store(f"sqlite:///{path}")
    catalogue = [
        Endpoint(id=f"endpoint-{i:03d}", name=f"E{i}", base_url="https://x.test/v1", model="m")
        for i in range(endpoints)
    ]
    rate = fill(store, [e.id for e in catalogue], per_endpoint)
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        fast = rank(store, catalogue, timedelta(hours=24))
        timings.append((time.perf_counter() - began) * 1000)
    # The exact path (every sample in Python) on a few endpoints, to show the fast one agrees.
    few = catalogue[:3]
    since = datetime.now(UTC) - timedelta(hours=24)
    exact = {s.id: s for s in compute(few, store.samples(since, [e.id for e in few]), {}, "24h")}
    error = 0.0
    for s in fast:
        if s.id in exact:
            e = exact[s.id]
            exact_fields = ("samples", "state", "last_error", "tool_health", "recent_ttft")
            assert all(getattr(s, f) == getattr(e, f) for f in exact_fields), s.id
            for field in ("ttft_p50_ms", "ttft_p95_ms", "total_p50_ms", "tokens_per_s"):
                a, b = getattr(s, field), getattr(e, field)
                if a is not None and b:
                    error = max(error, abs(a - b) / b)
    store.close()
    rows = endpoints * per_endpoint
    size = sum(p.stat().st_size for p in folder.glob("bench.db*"))
    return {
        "rows": rows,
        "insert_rows_per_s": rate,
        "rank_ms": median(timings),
        "bytes_per_row": size / rows,
        "percentile_error": error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--per-endpoint", type=int, default=10_000)
    args = parser.parse_args()
    header("store: insert, rank over 24 h, size")
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.endpoints, args.per_endpoint, Path(tmp))
    print(f"rows stored:          {r['rows']:,} ({args.endpoints} endpoints x {args.per_endpoint})")
    print(f"insert (Store.add):   {r['insert_rows_per_s']:,.0f} rows/s   target >= 20,000")
    print(f"rank 24h (median/5):  {r['rank_ms']:.0f} ms          target <= 200")
    print(f"DB file:              {r['bytes_per_row']:.0f} B/row        target < 200")
    print(f"fast vs exact percentiles: max relative difference {r['percentile_error']:.2%}")


if __name__ == "__main__":
    main()
