"""Ranking: pure functions from stored samples to per-endpoint stats, a score and a "why".

No I/O of any kind. The order puts reliable endpoints first, then fast ones:
state now > uptime > time to first token > decode speed > price; except that an endpoint
whose answers are significantly more often wrong than the best endpoint's (the quality
canary, `quality_stats.significantly_below`) ranks after every endpoint that is not, even
one that is down now: a confidently wrong answer costs more than none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from copy import copy

from monitor import quality_stats
from monitor.catalog import Endpoint
from monitor.core import format as fmt
from monitor.core.hysteresis import is_down
from monitor.core.models import (
    ANSWERING,
    MIN_SAMPLES,
    SIDE_KINDS,
    SPARK_POINTS,
    STATE_WEIGHT,
    Accuracy,
    EndpointStats,
    ErrorKind,
    ProbeKind,
    Sample,
    Span,
    State,
    Tally,
    ToolHealth,
)

# What `compute` keeps per endpoint for a caller that ranks again and again: the inputs of its
# stats and the stats they gave, before the cross-endpoint part (quality verdicts, order, rank).
StatsInputs = tuple[Endpoint, list[Sample], tuple[str, ...], str, Tally | None]
StatsKept = MutableMapping[str, tuple[StatsInputs, EndpointStats]]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    return span_percentile(_spans(values), q)


def span_percentile(spans: Sequence[Span], q: float) -> float | None:
    """`percentile` of the values that non-overlapping spans stand for, without expanding them."""
    n = sum(s.n for s in spans)
    if not n:
        return None
    position = (n - 1) * q
    low = int(position)
    values = _ranked(sorted(spans), (low, min(low + 1, n - 1)))
    return values[0] + (values[1] - values[0]) * (position - low)


def _ranked(spans: list[Span], ranks: tuple[int, int]) -> list[float]:
    """The values at the given 0-based ranks (ascending) of sorted spans."""
    found: list[float] = []
    seen = 0
    for span in spans:
        while len(found) < len(ranks) and ranks[len(found)] < seen + span.n:
            step = (span.high - span.low) / (span.n - 1) if span.n > 1 else 0.0
            found.append(span.low + step * (ranks[len(found)] - seen))
        seen += span.n
    return found


def _spans(values: Iterable[float]) -> list[Span]:
    return [Span(value, value, count) for value, count in Counter(values).items()]


def compute(
    endpoints: Iterable[Endpoint],
    samples: Iterable[Sample],
    missing: Mapping[str, tuple[str, ...]] | None = None,
    window_label: str = "1h",
    tallies: Mapping[str, Tally] | None = None,
    quality: Mapping[str, tuple[int, int]] | None = None,
    kept: StatsKept | None = None,
) -> list[EndpointStats]:
    """Stats for every endpoint, best first.

    `missing` maps endpoint id -> unset env vars.
    With `tallies` (the store's fast path for big windows), counts and percentiles come from
    them and `samples` need only hold each endpoint's latest probes (see Store.latest).
    `quality` maps endpoint id -> (passed, total) quality verdicts in the window.
    With `kept`, an endpoint whose inputs are what they were last time is not computed again.
    """
    missing = missing or {}
    by_endpoint: dict[str, list[Sample]] = {}
    for sample in samples:
        by_endpoint.setdefault(sample.endpoint_id, []).append(sample)
    stats = [
        _kept_stats(
            kept,
            (
                e,
                by_endpoint.get(e.id, []),
                missing.get(e.id, ()),
                window_label,
                _tally(by_endpoint.get(e.id, [])) if tallies is None else tallies.get(e.id),
            ),
        )
        for e in endpoints
    ]
    _judge_answers(stats, quality or {})
    stats.sort(key=lambda s: (not s.eligible, _answers_wrong(s), -s.score, s.id))
    rank = 0
    for s in stats:
        if s.state in ANSWERING:  # a rank says "use this one": not for down or limited ones
            rank += 1
            s.rank = rank
    return stats


def _kept_stats(kept: StatsKept | None, made_of: StatsInputs) -> EndpointStats:
    """`_stats`, or a copy of what it gave for the same inputs (the copy is judged and ranked,
    the kept one stays as `_stats` made it). The inputs are mostly the very objects of last
    time (the store's `Kept` keeps them), so comparing them is quick."""
    if kept is None:
        return _stats(*made_of)
    endpoint_id = made_of[0].id
    was = kept.get(endpoint_id)
    if was is None or was[0] != made_of:
        was = kept[endpoint_id] = (made_of, _stats(*made_of))
    return copy(was[1])


def _stats(
    endpoint: Endpoint,
    samples: list[Sample],
    missing: tuple[str, ...],
    window_label: str,
    tally: Tally | None,
) -> EndpointStats:
    chat = [s for s in samples if not _is_side(s)]
    tools = [s for s in samples if s.kind == ProbeKind.TOOLS]
    stats = EndpointStats(endpoint=endpoint, state=State.PENDING, missing=missing)
    tally = tally or Tally(0, 0, [], [], [])
    stats.ok = tally.ok
    stats.failed = tally.failed
    stats.samples = stats.ok + stats.failed
    if stats.samples >= MIN_SAMPLES:
        stats.uptime = stats.ok / stats.samples
    stats.ttft_p50_ms = span_percentile(tally.ttft, 0.5)
    stats.ttft_p95_ms = span_percentile(tally.ttft, 0.95)
    stats.ttfa_p50_ms = span_percentile(tally.ttfa, 0.5)
    stats.total_p50_ms = span_percentile(tally.total, 0.5)
    stats.tokens_per_s = span_percentile(tally.speed, 0.5)
    stats.recent_ttft = [s.ttft_ms if s.ok else None for s in chat[-SPARK_POINTS:]]
    failures = [s for s in chat if not s.ok]
    if failures:
        stats.last_error = failures[-1].error
        stats.last_message = fmt.printable(failures[-1].message)  # stored text: never trusted
    if samples:
        stats.last_probe_at = samples[-1].started_at
    # Only a tool probe that got an answer says anything about tool calls; an outage does not.
    answered = [s for s in tools if s.ok or s.error == ErrorKind.BAD_RESPONSE]
    if answered:
        stats.tool_health = ToolHealth.OK if answered[-1].ok else ToolHealth.BROKEN
    stats.state = _state(endpoint, chat, stats)
    stats.score = _score(stats)
    stats.why = _why(stats, window_label)
    return stats


def _is_side(sample: Sample) -> bool:
    # Real traffic through the router counts like a chat probe: same timing definitions.
    return sample.kind in SIDE_KINDS


def _answers_wrong(s: EndpointStats) -> bool:
    """Wrong answers are worse than slow ones: such endpoints rank after all the others."""
    return s.quality is not None and bool(s.quality.below)


def _judge_answers(stats: list[EndpointStats], counts: Mapping[str, tuple[int, int]]) -> None:
    """Each endpoint's accuracy; those significantly below the best one's say so in their why.

    With too few verdicts (on either side) nobody is judged: a few unlucky answers never
    punish an endpoint."""
    best = quality_stats.reference(counts[s.id] for s in stats if s.id in counts)
    for s in stats:
        passed, total = counts.get(s.id, (0, 0))
        if not total:
            continue
        low, high = quality_stats.wilson(passed, total)
        below = ""
        if best is not None and quality_stats.significantly_below(passed, total, *best):
            below = f"{100 * passed / total:.0f}% of {total} vs {100 * best[0] / best[1]:.0f}%"
        text = quality_stats.accuracy_text(passed, total)
        s.quality = Accuracy(passed, total, low, high, text, below)
        if below and s.eligible:
            s.why = f"answers wrong: {below}, {s.why}"
        elif s.eligible and total >= quality_stats.MIN_SAMPLES:
            s.why += f", answers right {s.quality.short()}"


def _tally(samples: list[Sample]) -> Tally:
    """Counts and latency histograms of one endpoint's samples (the exact, small-window path)."""
    # `auth` is the user's key, not the provider being down: it does not count against uptime.
    counted = [s for s in samples if not _is_side(s) and s.error != ErrorKind.AUTH]
    ok = [s for s in counted if s.ok]
    return Tally(
        ok=len(ok),
        failed=len(counted) - len(ok),
        ttft=_spans(s.ttft_ms for s in ok if s.ttft_ms is not None),
        ttfa=_spans(s.ttfa_ms for s in ok if s.ttfa_ms is not None),
        total=_spans(s.total_ms for s in ok if s.total_ms is not None),
        speed=_spans(s.tokens_per_s for s in ok if s.tokens_per_s is not None),
    )


def _state(endpoint: Endpoint, chat: list[Sample], stats: EndpointStats) -> State:
    if not endpoint.enabled:
        return State.DISABLED
    if stats.missing:
        return State.NO_KEY
    if not chat:
        return State.PENDING
    last = chat[-1]
    if last.error == ErrorKind.AUTH:
        return State.AUTH
    if last.error == ErrorKind.RATE_LIMITED:
        return State.RATE_LIMITED
    # Down and back up with the alerts' hysteresis: one failure among successes is degraded.
    answered = [s.ok for s in chat if s.error not in (ErrorKind.AUTH, ErrorKind.RATE_LIMITED)]
    if is_down(answered) or not any(answered):  # never answered in the window: down too
        return State.DOWN
    shaky = any(not s.ok for s in chat[-3:])
    if shaky or (stats.uptime is not None and stats.uptime < 0.95):
        return State.DEGRADED
    return State.UP


def _score(s: EndpointStats) -> float:
    """0-100. Reliability dominates (state, uptime), then speed, then throughput and price."""
    if not s.eligible:
        return 0.0
    uptime = s.uptime if s.uptime is not None else 0.5  # too few samples: no credit yet
    reliability = 1.0 if uptime >= 0.99 else 0.8 if uptime >= 0.95 else 0.6 * uptime
    speed = 1 / (1 + s.ttft_p50_ms / 1000) if s.ttft_p50_ms is not None else 0.0
    throughput = min(s.tokens_per_s or 0.0, 1000.0) / 1000
    price = s.endpoint.price
    blended = (price.input + 3 * price.output) / 4 if price else 0.0
    cheap = 1.0 if s.endpoint.free else 1 / (1 + blended)
    score = 100 * (
        0.40 * STATE_WEIGHT[s.state]
        + 0.30 * reliability
        + 0.20 * speed
        + 0.07 * throughput
        + 0.03 * cheap
    )
    # Coding tools need tool calls: an endpoint that breaks them falls behind working ones.
    return score * 0.8 if s.tool_health is ToolHealth.BROKEN else score


def _why(s: EndpointStats, window_label: str) -> str:
    retired = s.endpoint.retirement()
    if retired:
        return f"{retired}" + ("" if s.endpoint.enabled else "; disabled in the catalogue")
    if s.state is State.DISABLED:
        return "disabled in the catalogue"
    if s.state is State.NO_KEY:
        return f"no key: set {' and '.join(s.missing)}"
    if s.state is State.PENDING:
        return "not probed yet in this window"
    if s.state is State.AUTH:
        return f"your key was refused: {s.last_message or 'HTTP 401/403'}"
    if s.uptime is None:
        parts = [f"only {s.samples} sample{'s' if s.samples != 1 else ''} in {window_label}"]
    else:
        parts = [f"{s.uptime_text()} up over {window_label}"]
    if s.ttft_p50_ms is not None:
        parts.append(f"TTFT {fmt.ms(s.ttft_p50_ms)} p50 / {fmt.ms(s.ttft_p95_ms)} p95")
        if s.ttfa_p50_ms is not None and s.ttfa_p50_ms > s.ttft_p50_ms * 1.1:
            parts.append(f"answer from {fmt.ms(s.ttfa_p50_ms)} (reasons first)")
    if s.tokens_per_s is not None:
        parts.append(f"{fmt.number(s.tokens_per_s)} tok/s")
    if s.endpoint.free:
        parts.append("free")
    elif s.endpoint.price:
        parts.append(f"${s.endpoint.price.output:g}/M out")
    if s.state in (State.DOWN, State.RATE_LIMITED, State.DEGRADED) and s.last_error:
        parts.insert(0, f"{fmt.state(s.state)} ({s.last_error}: {s.last_message})")
    if s.tool_health is ToolHealth.BROKEN:
        parts.append("tool calls broken")
    return ", ".join(parts)
