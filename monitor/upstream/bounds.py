"""The one boundary for values a provider controls: parsed, validated and clamped here, before
they reach the store, the scheduler's time arithmetic or a screen.

JSON is parsed with a depth limit (deep nesting overflows the stack of whatever walks it
next); counts must be plain integers in range; waits are clamped to MAX_WAIT_S; text is made
printable and cut to length, after any redaction.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from monitor.core.format import printable
from monitor.upstream.redact import redact

MAX_DEPTH = 64  # JSON nesting; chat completions and their tool schemas need far fewer
MAX_COUNT = 1_000_000_000  # token counts; above this a provider is not counting tokens
MAX_WAIT_S = 86_400.0  # Retry-After and rate-limit resets: a longer wait is read as one day
MAX_HEADERS = 32  # rate-limit headers kept per response
MAX_HEADER_TEXT = 200
# `x-ratelimit-reset-requests: 6m0s`, `1.5s`, `20ms` (Go durations, OpenAI and Groq style).
DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)(ms|h|m|s))+?")
EPOCH_AFTER = 1_000_000_000  # a bare number this large is a Unix time, not a wait


class TooDeep(ValueError):
    """JSON nested deeper than MAX_DEPTH."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads that refuses nesting deeper than `max_depth` (ValueError, like bad JSON)."""
    raw = data.encode() if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= max_depth:  # the common case: cannot be too deep
        return json.loads(raw)
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep(f"JSON nested more than {max_depth} levels deep") from None
    if _depth_over(value, max_depth):
        raise TooDeep(f"JSON nested more than {max_depth} levels deep")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Walk without recursion: the value may be as deep as the C parser allowed."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def count(value: Any) -> int | None:
    """A token count: a plain int from 0 to MAX_COUNT, else None (unknown)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    return None


def wait_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After: seconds or an HTTP date, clamped to 0..MAX_WAIT_S; None if unreadable."""
    if not value:
        return None
    value = value.strip()[:64]
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return _clamp_wait(seconds)


def reset_seconds(headers: Iterable[tuple[str, str]], now: float | None = None) -> float | None:
    """The longest `x-ratelimit-reset*` wait (a duration, seconds, or a Unix time), clamped."""
    waits = []
    for name, value in headers:
        if not name.lower().startswith(("x-ratelimit-reset", "ratelimit-reset")):
            continue
        wait = _reset_value(value.strip()[:64], now)
        if wait is not None:
            waits.append(wait)
    return max(waits, default=None)


def _reset_value(value: str, now: float | None) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        if not value or DURATION.fullmatch(value) is None:
            return None
        unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        seconds = sum(float(n) * unit[u] for n, u in DURATION.findall(value))
    else:
        if seconds > EPOCH_AFTER:
            seconds -= datetime.now(UTC).timestamp() if now is None else now
    return _clamp_wait(seconds)


def _clamp_wait(seconds: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_WAIT_S)


def text(value: str, secrets: list[str], limit: int = 300) -> str:
    """Redacted first, then made printable, then cut: a cut never leaves part of a key."""
    shown = printable(redact(value, secrets))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def headers(seen: Iterable[tuple[str, str]], secrets: list[str]) -> dict[str, str]:
    """Rate-limit headers as stored: names and values redacted, printable, bounded."""
    kept: dict[str, str] = {}
    for name, value in seen:
        if len(kept) >= MAX_HEADERS:
            break
        kept[text(name.lower(), secrets, MAX_HEADER_TEXT)] = text(value, secrets, MAX_HEADER_TEXT)
    return kept


def header_value(value: str, holder: str) -> str:
    """A key about to go in an HTTP header: visible ASCII only, else say where it came from."""
    for position, char in enumerate(value, 1):
        if not " " <= char <= "~":
            raise ValueError(
                f"{holder} holds a character that cannot be sent in an HTTP header (a "
                f"{'non-ASCII' if ord(char) > 127 else 'control'} character at position "
                f"{position}); paste the key into {holder} again"
            )
    return value
