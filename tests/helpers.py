"""Test helpers: finished probe results, simulated endpoints, catalogues."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.catalog import Catalog, load_catalog
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult
from monitor.sim.fleet import SimEndpoint

FLEET_KEY = "sim-test-key-1234567890"


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll `check` until it holds or the deadline passes (e.g. the router writes its traffic
    samples every half second); its last answer."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


def json_lines(text: str) -> list[dict[str, Any]]:
    """`--json` output: one object per line, each with its schema version."""
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(row["schema"] == 1 for row in rows), rows
    return rows


def result(
    endpoint_id: str,
    ok: bool = True,
    *,
    at: datetime | None = None,
    error: ErrorKind | None = None,
    ttft: float | None = 200.0,
    kind: ProbeKind = ProbeKind.CHAT,
    **extra: Any,
) -> ProbeResult:
    """A finished probe as the prober would report it."""
    return ProbeResult(
        endpoint_id=endpoint_id,
        kind=kind,
        started_at=at or datetime.now(UTC),
        ok=ok,
        error=None if ok else (error or ErrorKind.SERVER),
        status=200 if ok else 500,
        ttft_ms=ttft if ok else None,
        total_ms=(ttft or 0) + 300 if ok else 20.0,
        output_tokens=32 if ok else None,
        tokens_per_s=150.0 if ok else None,
        **extra,
    )


def sim(endpoint_id: str, **profile: Any) -> SimEndpoint:
    """A fast, healthy simulated endpoint unless the profile says otherwise."""
    defaults: dict[str, Any] = {
        "name": endpoint_id,
        "headers_ms": {"mean": 5},
        "ttft_ms": {"mean": 20},
        "tokens_per_s": 2000,
    }
    return SimEndpoint(id=endpoint_id, **{**defaults, **profile})


def catalog_of(path: Path) -> Catalog:
    return load_catalog(str(path), env={})


def self_signed(folder: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 that no CA vouches for."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return str(cert), str(key)
