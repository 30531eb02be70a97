"""The domain vocabulary: what a probe is, what it found, and what ranking says of an endpoint.

Every layer speaks these types; this module imports nothing of ours but the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, Field

from monitor.catalog import Endpoint
from monitor.core.format import parse_duration


class ErrorKind(StrEnum):
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    SERVER = "server"
    TIMEOUT = "timeout"
    NETWORK = "network"
    BAD_RESPONSE = "bad_response"
    NO_KEY = "no_key"
    MODEL_MISSING = "model_missing"  # the provider no longer lists the model (catalog check)
    INTERNAL = "internal"  # our own bug while probing: that probe fails, the round goes on


class ProbeKind(StrEnum):
    CHAT = "chat"
    TOOLS = "tools"
    TRAFFIC = "traffic"  # a real request forwarded by the router: a passive sample
    QUALITY = "quality"  # a task from the quality bank, its answer checked exactly


# Probes with a prompt of their own (a tool call, a bank task): they answer their own question,
# with other token budgets, so they count in neither latency nor uptime nor the state.
SIDE_KINDS = (ProbeKind.TOOLS, ProbeKind.QUALITY)


class Clock(StrEnum):
    """Where a probe's arrival times came from (design.md, "Received")."""

    KERNEL = "kernel"  # the kernel's receive stamp of the read that delivered the bytes
    MONOTONIC = "monotonic"  # when our event loop got to the bytes


class ProbeResult(BaseModel):
    endpoint_id: str
    kind: ProbeKind = ProbeKind.CHAT
    started_at: datetime
    ok: bool
    error: ErrorKind | None = None
    status: int | None = None
    message: str = ""
    headers_ms: float | None = None
    ttft_ms: float | None = None
    ttfa_ms: float | None = None  # first answer (content) token; reasoning excluded
    total_ms: float | None = None
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    new_connection: bool | None = None
    retry_after_s: float | None = None
    rate_limit: dict[str, str] = Field(default_factory=dict)
    clock: Clock | None = None
    quality: QualityItem | None = None  # set on quality probes that got an answer to check


class QualityItem(BaseModel):
    """One quality task's verdict: checked exactly by code, never by a model."""

    task_id: str
    passed: bool
    failure: str | None = None  # wrong, truncated, unparsable, refused, tool_args, ...
    expected: str = ""
    received: str = ""


class Sample(NamedTuple):
    """A stored probe, slimmed to what ranking needs (cheap to hold by the million)."""

    endpoint_id: str
    kind: str
    started_at: datetime
    ok: bool
    error: str | None
    status: int | None
    message: str
    ttft_ms: float | None
    ttfa_ms: float | None
    total_ms: float | None
    tokens_per_s: float | None


class ProbeSettings(BaseModel):
    connect_s: float = Field(default=10.0, gt=0)
    first_token_s: float = Field(default=30.0, gt=0)
    total_s: float = Field(default=60.0, gt=0)
    # gpt-oss reasons before answering: too few tokens and the answer is empty.
    max_tokens: int = Field(default=128, gt=1)
    max_line_bytes: int = 1 << 20
    max_stream_bytes: int = 8 << 20
    max_error_bytes: int = 64 << 10
    prompt: str = "Reply with one short friendly sentence."


WINDOWS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
MAX_WINDOW = timedelta(days=3650)
MIN_SAMPLES = 3  # fewer than this shows "n=2", never a percentage
SPARK_POINTS = 30


class State(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    RATE_LIMITED = "rate_limited"
    DOWN = "down"
    AUTH = "auth"
    NO_KEY = "no_key"
    PENDING = "pending"
    DISABLED = "disabled"


# Endpoints that answer now, and those never handed a request (router, export, alerts agree).
ANSWERING = frozenset({State.UP, State.DEGRADED})
UNUSABLE = frozenset({State.DOWN, State.AUTH, State.NO_KEY, State.DISABLED})

STATE_WEIGHT = {
    State.UP: 1.0,
    State.DEGRADED: 0.7,
    State.RATE_LIMITED: 0.4,
    State.DOWN: 0.1,
}


class Span(NamedTuple):
    """`n` values spread evenly from `low` to `high`: one value repeated (low == high),
    or a histogram bucket known by its count, smallest and largest value."""

    low: float
    high: float
    n: int


class Tally(NamedTuple):
    """One endpoint's chat probes over a window, summed without holding every sample: the
    counts, and each latency as spans of values, from which percentiles are taken."""

    ok: int
    failed: int
    ttft: Sequence[Span]
    total: Sequence[Span]
    speed: Sequence[Span]
    ttfa: Sequence[Span] = ()


class Histogram(NamedTuple):
    """One endpoint's values of a metric over a window: how many at or under each bound, how
    many in all, and their sum."""

    under: tuple[int, ...]
    values: int  # how many in all
    total: float


class WindowCounts(NamedTuple):
    """Every probe of a window counted, for the metrics: by result ("ok" or the error kind)
    and, for ok chat probes, as histograms per metric column (e.g. "ttft_ms")."""

    results: dict[tuple[str, str], int]  # (endpoint id, result) -> probes
    histograms: dict[str, dict[str, Histogram]]  # column -> endpoint id -> histogram


class ToolHealth(StrEnum):
    OK = "ok"
    BROKEN = "broken"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Accuracy:
    """An endpoint's quality verdicts over a window: how many right, the 95% interval, and
    whether it is significantly below the best endpoint's (then ranking demotes it)."""

    passed: int
    total: int
    low: float  # 95% interval of the share answered right
    high: float
    text: str  # "97% of 64, 95% CI 89-99"
    below: str = ""  # "61% of 40 vs 97%" when significantly below the best endpoint

    @property
    def ratio(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def short(self) -> str:
        """For a table cell: "97% of 64"."""
        return f"{100 * self.ratio:.0f}% of {self.total}"

    def as_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "total": self.total,
            "accuracy": round(self.ratio, 4),
            "ci95": [round(self.low, 4), round(self.high, 4)],
            "text": self.text,
            "answers_wrong": bool(self.below),
        }


@dataclass
class EndpointStats:
    endpoint: Endpoint
    state: State
    missing: tuple[str, ...] = ()
    samples: int = 0
    ok: int = 0
    failed: int = 0
    uptime: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    ttfa_p50_ms: float | None = None  # first answer token: what a coding tool's user waits for
    total_p50_ms: float | None = None
    tokens_per_s: float | None = None
    last_error: str | None = None
    last_message: str = ""
    last_probe_at: datetime | None = None
    tool_health: ToolHealth = ToolHealth.UNKNOWN
    quality: Accuracy | None = None  # the quality canary's verdicts in the window, if any
    recent_ttft: list[float | None] = field(default_factory=list)
    score: float = 0.0
    rank: int | None = None
    why: str = ""

    @property
    def id(self) -> str:
        return self.endpoint.id

    @property
    def eligible(self) -> bool:
        return self.state in STATE_WEIGHT

    def uptime_text(self) -> str:
        if self.uptime is None:
            return f"n={self.samples}"
        return f"{self.uptime * 100:.1f}%"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.endpoint.name,
            "rank": self.rank,
            "score": round(self.score, 2),
            "state": self.state.value,
            "uptime": None if self.uptime is None else round(self.uptime, 4),
            "ttft_p50_ms": _round(self.ttft_p50_ms),
            "ttft_p95_ms": _round(self.ttft_p95_ms),
            "ttfa_p50_ms": _round(self.ttfa_p50_ms),
            "total_p50_ms": _round(self.total_p50_ms),
            "tokens_per_s": _round(self.tokens_per_s),
            "samples": self.samples,
            "last_error": self.last_error,
            "last_message": self.last_message,
            "tool_calls": self.tool_health.value,
            "quality": self.quality.as_json() if self.quality else None,
            "free": self.endpoint.free,
            "price": self.endpoint.price.model_dump() if self.endpoint.price else None,
            "missing_env": list(self.missing),
            "why": self.why,
        }


def parse_window(text: str) -> timedelta:
    """`15m`, `1h`, `24h`, `7d`, or any duration (`30m`, `3d`, `2w`); ValueError otherwise."""
    window = WINDOWS.get(text) or parse_duration(text)
    if window > MAX_WINDOW:  # `now - window` must stay a date
        raise ValueError(
            f"window {text!r} is longer than {MAX_WINDOW.days} days; pick a shorter one"
        )
    return window


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
