"""`catalog check`: ask each provider which models it serves, without spending generation quota.

`GET {base_url}/models` with the key when the endpoint has one, every endpoint at once, reads
bounded in size and time. `judge` turns what came back into a verdict and is pure; the probe
budget and the store are never touched.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import anyio
import httpx

from monitor.catalog import Endpoint, resolve
from monitor.upstream.dialects import build_request

MAX_IDS, MAX_ID_CHARS = 10_000, 200


class Verdict(StrEnum):
    LISTED = "listed"
    RENAMED = "renamed"  # not listed as is, but a gpt-oss-120b id close to it is
    MISSING = "missing"
    GONE = "gone"  # 404/410 on {base_url}/models: the base URL no longer serves an API
    AUTH = "auth"
    UNREACHABLE = "unreachable"
    NO_MODELS_ROUTE = "no_models_route"
    SKIPPED = "skipped"  # not asked: its URL needs a variable that is not set


@dataclass(frozen=True)
class Check:
    endpoint_id: str
    verdict: Verdict
    detail: str
    status: int | None = None
    closest: str | None = None  # the id to use instead, for `renamed`

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}

    def record(self, at: datetime) -> str:
        """What the store keeps of the last check (under RECORD), for the dashboard."""
        return json.dumps({"verdict": self.verdict.value, "detail": self.detail[:300],
                           "at": at.isoformat(timespec="seconds")})  # fmt: skip


RECORD = "catalog-check"  # the store's key prefix for each endpoint's last check


def describe_record(text: str | None) -> str | None:
    """The stored last check in words ("missing on 2026-11-28 18:50 UTC: ..."), or None."""
    try:
        data = json.loads(text or "")
        when = datetime.fromisoformat(data["at"]).astimezone(UTC)
        return f"{data['verdict']} on {when:%Y-%m-%d %H:%M} UTC: {data['detail']}"
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Reply:
    """What GET /models brought back, already bounded; status None when nothing did."""

    status: int | None
    body: bytes = b""
    error: str = ""  # why there is no answer, or why the body was not read


@dataclass(frozen=True)
class CheckSettings:
    max_bytes: int = 8_000_000  # OpenRouter's full list is a few MB
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(10.0, connect=5.0))
    total_s: float = 20.0  # per endpoint, against a server that drips bytes
    concurrency: int = 16


# ---------------------------------------------------------------- the verdict (pure)


def judge(endpoint: Endpoint, reply: Reply, missing_key: str | None = None) -> Check:
    """The verdict for one endpoint from its GET /models reply; `missing_key` names an unset
    key variable (the request then went without a key)."""
    status = reply.status

    def check(verdict: Verdict, detail: str, closest: str | None = None) -> Check:
        return Check(endpoint.id, verdict, detail, status, closest)

    if status is None:
        return check(Verdict.UNREACHABLE, reply.error or "no answer")
    if status in (401, 403):
        fix = f"set {missing_key}" if missing_key else f"check {endpoint.api_key_env or 'the key'}"
        return check(Verdict.AUTH, f"the provider refused the request (HTTP {status}); {fix}")
    if status in (404, 410):
        return check(
            Verdict.GONE,
            f"HTTP {status} on {endpoint.base_url}/models: the base URL is gone or moved; "
            "check the provider's docs",
        )
    if status in (405, 501):
        return check(Verdict.NO_MODELS_ROUTE, f"no GET /models here (HTTP {status})")
    if status != 200:
        why = {429: "rate limited; try again later"}.get(status, "not a model list")
        if 300 <= status < 400:
            why = "redirected; update base_url if the provider moved"
        return check(Verdict.UNREACHABLE, f"HTTP {status}: {why}")
    if reply.error:
        return check(Verdict.UNREACHABLE, reply.error)
    ids = model_ids(reply.body)
    if ids is None:
        return check(Verdict.NO_MODELS_ROUTE, "GET /models answered, but not with a model list")
    if endpoint.model in ids:
        return check(Verdict.LISTED, f"{endpoint.model} is listed")
    family = [i for i in ids if _same_model(i)]
    if family:
        closest = difflib.get_close_matches(endpoint.model, family, n=1, cutoff=0.0)[0]
        return check(
            Verdict.RENAMED, f"{endpoint.model} is not listed; it lists {closest}", closest
        )
    return check(Verdict.MISSING, f"{endpoint.model} is not among the {len(ids)} models listed")


def model_ids(body: bytes) -> list[str] | None:
    """Model ids from an OpenAI `{data: [{id}]}` list (or `{models: [...]}`, a bare list, items
    as strings or with `id`/`name`); None when the body is not such a list. Hostile input:
    bounded count, bounded length, printable only."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        data = data.get("data", data.get("models"))
    if not isinstance(data, list):
        return None
    ids = []
    for item in data[:MAX_IDS]:
        if isinstance(item, dict):
            item = item.get("id", item.get("name"))
        if isinstance(item, str) and 0 < len(item) <= MAX_ID_CHARS and item.isprintable():
            ids.append(item)
    return ids


def _same_model(model_id: str) -> bool:
    low = model_id.lower()
    return "gpt-oss" in low and "120b" in low


# ---------------------------------------------------------------- asking the providers


async def check_all(
    endpoints: Sequence[Endpoint],
    client: httpx.AsyncClient,
    env: Mapping[str, str],
    settings: CheckSettings | None = None,
) -> list[Check]:
    """Check every endpoint in parallel; the result keeps the catalogue's order."""
    settings = settings or CheckSettings()
    limiter = anyio.CapacityLimiter(settings.concurrency)
    results: dict[str, Check] = {}

    async def one(endpoint: Endpoint) -> None:
        async with limiter:
            results[endpoint.id] = await check_one(endpoint, client, env, settings)

    async with anyio.create_task_group() as group:
        for endpoint in endpoints:
            group.start_soon(one, endpoint)
    return [results[e.id] for e in endpoints]


async def check_one(
    endpoint: Endpoint, client: httpx.AsyncClient, env: Mapping[str, str], settings: CheckSettings
) -> Check:
    if endpoint.dialect == "modelslab":
        return Check(endpoint.id, Verdict.NO_MODELS_ROUTE, "ModelsLab has no GET /models")
    creds = resolve(endpoint, env)
    url_missing = [v for v in endpoint.url_vars if v in creds.missing]
    if url_missing:
        return Check(
            endpoint.id, Verdict.SKIPPED, f"its URL needs {' and '.join(url_missing)}; set it"
        )
    # Same headers as a probe (bearer key where the dialect uses one), asking for JSON.
    headers = {**build_request(endpoint, creds, {}).headers, "accept": "application/json"}
    reply = await fetch(client, f"{creds.url}/models", headers, settings)
    missing_key = endpoint.api_key_env if endpoint.api_key_env in creds.missing else None
    return judge(endpoint, reply, missing_key)


async def fetch(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str], settings: CheckSettings
) -> Reply:
    """GET `url` without following redirects (the key stays with its host), body capped."""
    try:
        with anyio.fail_after(settings.total_s):
            async with client.stream(
                "GET", url, headers=dict(headers), follow_redirects=False, timeout=settings.timeout
            ) as response:
                if response.status_code != 200:
                    return Reply(response.status_code)
                body = await read_capped(response, settings.max_bytes)
    except TimeoutError:
        return Reply(None, error=f"no complete answer within {settings.total_s:g} s")
    except httpx.HTTPError as exc:
        return Reply(None, error=f"cannot reach it ({type(exc).__name__})")
    if body is None:
        return Reply(200, error=f"the model list is over {settings.max_bytes:,} bytes; not read")
    return Reply(200, body)


async def read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or None as soon as it would exceed `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
