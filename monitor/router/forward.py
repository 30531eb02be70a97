"""The one forwarding path every API shares: pick, attempt, fail over, relay, record.

Before the first token reaches the client a failing provider is replaced by the next one;
after it, a broken stream ends with the client API's own error event, never a silent switch.
Every attempt is stored as a `traffic` sample with the probe's timing definitions (the same
`Exchange` bookkeeping) and feeds the endpoint's circuit breaker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import anyio

from monitor.catalog import Endpoint, resolve
from monitor.core import format as fmt
from monitor.core.models import ErrorKind, ProbeKind, ProbeResult, ProbeSettings
from monitor.router.choice import Picker
from monitor.router.recorder import Recorder
from monitor.router.relay import Attempt
from monitor.upstream.classify import ProbeFailure
from monitor.upstream.client import make_client, read_capped
from monitor.upstream.dialects import Request as Upstream
from monitor.upstream.dialects import build_request
from monitor.upstream.exchange import Exchange, read_head
from monitor.upstream.redact import redact

if TYPE_CHECKING:
    from monitor.router.app import RouterSettings

log = logging.getLogger("oss-monitor.router")

# The same request would be refused by any provider: hand the answer back, do not fail over.
REQUEST_FAULTS = {400, 413, 422}
MAX_HEADER_VALUE = 200


class Speaker(Protocol):
    """How a stream reaches the client: the provider's bytes as they are, or translated."""

    raw: bool

    def feed(self, chunk: dict[str, Any]) -> bytes: ...

    def finish(self) -> bytes: ...

    def fail(self, message: str) -> bytes: ...


@dataclass(frozen=True)
class Refusal:
    """No endpoint answered: the status, one sentence, and a code for OpenAI-style errors."""

    status: int
    message: str
    code: str


class Forwarder:
    def __init__(
        self, picker: Picker, recorder: Recorder, env: Mapping[str, str], settings: RouterSettings
    ):
        self.picker, self.recorder, self.env, self.settings = picker, recorder, env, settings
        self.breakers = picker.breakers
        # Probe settings carry the limits the shared client and the stream parser apply.
        self.probe_settings = ProbeSettings(
            connect_s=settings.connect_s, first_token_s=settings.idle_s, total_s=settings.total_s,
            max_stream_bytes=settings.max_answer_bytes,
        )  # fmt: skip
        self.client = make_client(self.probe_settings, spread=True)
        self.counts = {"requests": 0, "failovers": 0, "failed": 0, "cut": 0, "last_resort": 0}

    async def forward(self, payload: dict[str, Any], listen: bool = False) -> Attempt | Refusal:
        """The first endpoint that answers, with its stream open at the first token."""
        self.counts["requests"] += 1
        choice = self.picker.choose(tools=bool(payload.get("tools")))
        if not choice.usable:
            self.counts["failed"] += 1
            why = "; ".join(f"{k}: {v}" for k, v in choice.skipped.items()) or "none is enabled"
            return Refusal(
                503,
                f"no endpoint can take this request now ({why}); "
                "send it again later, or see `oss-monitor rank`",
                "no_endpoint",
            )
        if choice.last_resort:
            self.counts["last_resort"] += 1
        deadline = anyio.current_time() + self.settings.total_s
        failures: list[str] = []
        for stats in choice.usable[: self.settings.max_attempts]:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                break
            attempt = await self._attempt(stats.endpoint, payload, remaining, listen)
            if attempt.run.failure is None:
                self.counts["failovers"] += len(failures)
                attempt.failovers, attempt.deadline = len(failures), deadline
                return attempt
            failures.append(f"{stats.id}: {attempt.run.failure.message}")
        self.counts["failed"] += 1
        return Refusal(
            502,
            f"every endpoint tried failed before answering "
            f"({'; '.join(failures)}); send the request again, or see "
            "`oss-monitor rank`",
            "upstream_failed",
        )

    async def _attempt(
        self, endpoint: Endpoint, payload: dict[str, Any], remaining: float, listen: bool
    ) -> Attempt:
        creds = resolve(endpoint, self.env)
        host = urlsplit(creds.url).hostname or ""
        run = Exchange(kind=ProbeKind.TRAFFIC, settings=self.probe_settings, host=host)
        secrets = [creds.api_key] if creds.api_key else []
        attempt = Attempt(endpoint, run, datetime.now(UTC), secrets)
        if listen:
            run.listener = attempt.events.append
        # A whole answer passed through (several choices, log probabilities) arrives at once,
        # so it may take all the time left; every other answer is streamed from the provider.
        limit = min(self.settings.first_token_s, remaining) if payload.get("stream") else remaining
        self.breakers.begin(endpoint.id)
        with anyio.move_on_after(limit) as scope:
            run.first_scope = scope
            with run.catching():  # a key that cannot go in a header fails here, named
                await self._open(attempt, build_request(endpoint, creds, payload))
        if scope.cancelled_caught:
            run.failure = ProbeFailure(ErrorKind.TIMEOUT, f"no first token within {limit:.3g} s")
        if run.failure is not None:
            await attempt.close()
            failure = run.failure
            failure.message = self._record(attempt).message
            self.breakers.failure(
                endpoint.id,
                failure.message,
                failure.kind is ErrorKind.RATE_LIMITED,
                failure.retry_after_s,
            )
            return attempt
        self.breakers.success(endpoint.id)  # it answered (even a refusal of the request)
        if attempt.body is not None:
            await attempt.close()
            if run.status == 200:  # the request's own errors say nothing of the provider
                self._record(attempt)
        return attempt

    async def _open(self, attempt: Attempt, upstream: Upstream) -> None:
        """Send the request and read until the answer can be handed on (the first token)."""
        run = attempt.run
        request = self.client.build_request(
            "POST",
            upstream.url,
            json=upstream.body,
            headers=upstream.headers,
            extensions={"trace": run.trace},
        )
        response = attempt.response = await self.client.send(request, stream=True)
        if response.status_code in REQUEST_FAULTS:  # the request's own error: hand it back
            run.headers_at, run.status = time.perf_counter(), response.status_code
            raw = await read_capped(response, run.settings.max_error_bytes)
            attempt.body = redact(raw.decode("utf-8", "replace"), attempt.secrets).encode()
            attempt.media = response.headers.get("content-type", attempt.media)
            return
        whole = await read_head(response, run)
        if whole is not None:
            attempt.body = whole
            attempt.media = response.headers.get("content-type", attempt.media)
            return
        attempt.chunks = response.aiter_bytes()
        async for chunk in attempt.chunks:
            attempt.head += chunk
            if attempt.feed(chunk) or run.first_at is not None:
                break
        if run.first_at is None and not run.finished:
            raise ProbeFailure(ErrorKind.BAD_RESPONSE, "the stream ended without a single token")

    def headers(self, attempt: Attempt) -> dict[str, str]:
        """Which endpoint answered, after how many failovers, and its rate-limit headers."""
        headers = {"x-oss-monitor-endpoint": attempt.endpoint.id}
        if attempt.failovers:
            headers["x-oss-monitor-failovers"] = str(attempt.failovers)
        for name, value in attempt.run.rate_limit.items():
            clean = "".join(c for c in value if " " <= c <= "~")[:MAX_HEADER_VALUE]
            headers[name] = redact(clean, attempt.secrets)
        return headers

    async def stream(self, attempt: Attempt, speaker: Speaker) -> AsyncGenerator[bytes]:
        """Hand on the stream as it comes; a break becomes the client API's error event.

        A client that goes away cancels this at a `yield`: that is our cancellation, not the
        provider's failure, so no sample is stored for it.
        """
        run = attempt.run
        if attempt.body is not None:  # a whole answer (already recorded), told as a stream
            yield _translated(attempt, speaker) + speaker.finish()
            return
        try:
            yield attempt.head if speaker.raw else _translated(attempt, speaker)
            if not attempt.done and attempt.chunks is not None:
                with run.catching():
                    async for chunk in attempt.chunks:
                        if speaker.raw:
                            yield chunk  # hand it on first: parsing must not add latency
                            if attempt.feed(chunk):
                                break
                            continue
                        done = attempt.feed(chunk)
                        if out := _translated(attempt, speaker):
                            yield out
                        if done:
                            break
            run.end_at = time.perf_counter()
            result = self._record(attempt)
            if run.failure is not None or not run.finished:
                yield self._cut(attempt, speaker, result.message)
            elif not speaker.raw:
                yield speaker.finish()
        finally:
            await attempt.close()

    async def collect(self, attempt: Attempt, speaker: Speaker) -> None:
        """Read the whole answer into the speaker, by the request's overall deadline."""
        with anyio.move_on_after(max(0.0, attempt.deadline - anyio.current_time())) as scope:
            async with aclosing(self.stream(attempt, speaker)) as pieces:
                async for _ in pieces:
                    pass
        if scope.cancelled_caught:
            why = f"the answer did not finish within {self.settings.total_s:g} s"
            attempt.run.failure = ProbeFailure(ErrorKind.TIMEOUT, why)
            self._cut(attempt, speaker, self._record(attempt).message)

    def _cut(self, attempt: Attempt, speaker: Speaker, why: str) -> bytes:
        self.counts["cut"] += 1
        self.breakers.failure(attempt.endpoint.id, why)
        message = (
            f"oss-monitor router: the stream from {attempt.endpoint.id} broke after the "
            f"answer began ({why}); the answer is incomplete, send the request again"
        )
        tail = b"" if speaker.raw else _translated(attempt, speaker)
        lead = b"\n\n" if speaker.raw and attempt.run.sse.midway else b""  # a half-sent line
        return lead + tail + speaker.fail(message)

    def _record(self, attempt: Attempt) -> ProbeResult:
        result = attempt.run.result(attempt.endpoint.id, attempt.started_at, attempt.secrets)
        self.recorder.add(result)
        if result.ok:
            log.info("%s ok, TTFT %s", result.endpoint_id, fmt.ms(result.ttft_ms))
        else:
            log.info("%s %s: %s", result.endpoint_id, result.error, result.message)
        return result


def _translated(attempt: Attempt, speaker: Speaker) -> bytes:
    """The chunks parsed since the last call, in the speaker's API."""
    events = attempt.events[:]
    attempt.events.clear()  # in place: the exchange's listener appends to this very list
    return b"".join(speaker.feed(e) for e in events)
