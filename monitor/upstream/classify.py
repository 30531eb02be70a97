"""What a failed exchange means: HTTP statuses, error bodies and transport errors, classified."""

from __future__ import annotations

import json
import re
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from monitor.core.models import ErrorKind
from monitor.upstream import bounds

if TYPE_CHECKING:
    from monitor.upstream.exchange import Exchange


class ProbeFailure(Exception):
    def __init__(self, kind: ErrorKind, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_s = retry_after_s


MODEL_MISSING = re.compile(
    r"model.{0,60}(not found|does not exist|not exist|unknown|invalid|not supported|unavailable)"
    r"|(unknown|invalid|no such) model",
    re.I,
)


def status_failure(response: httpx.Response, raw: bytes) -> ProbeFailure:
    """What a non-200 answer means. Its text is whole: it is cut only after redaction."""
    status = response.status_code
    kind_hint, detail = _error_from_body(raw)
    text = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
    if status in (401, 403):
        return ProbeFailure(ErrorKind.AUTH, text)
    if status == 402:
        return ProbeFailure(ErrorKind.AUTH, f"HTTP 402 (payment required on this account) {detail}")
    model_gone = kind_hint is ErrorKind.MODEL_MISSING or bool(MODEL_MISSING.search(detail))
    if status == 404:
        return ProbeFailure(ErrorKind.MODEL_MISSING if model_gone else ErrorKind.NOT_FOUND, text)
    if status == 408:  # the server gave up waiting for our request: a timeout, not a format
        return ProbeFailure(ErrorKind.TIMEOUT, text)
    if status == 429:
        # Without Retry-After, the reset headers still say how long the limit holds.
        wait = bounds.wait_seconds(response.headers.get("retry-after"))
        if wait is None:
            wait = bounds.reset_seconds(response.headers.items())
        return ProbeFailure(ErrorKind.RATE_LIMITED, text, retry_after_s=wait)
    if status >= 500:
        return ProbeFailure(ErrorKind.SERVER, text)
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("location", "")).hostname or "another URL"
        return ProbeFailure(
            ErrorKind.BAD_RESPONSE, f"HTTP {status}: redirected to {target}; not followed"
        )
    if model_gone:  # some providers answer 400 for a model they no longer serve
        return ProbeFailure(ErrorKind.MODEL_MISSING, text)
    return ProbeFailure(kind_hint or ErrorKind.BAD_RESPONSE, text)


def _error_from_body(raw: bytes) -> tuple[ErrorKind | None, str]:
    try:
        data = bounds.loads(raw)
    except ValueError:
        return None, describe_body(raw) if raw.strip() else ""
    if isinstance(data, dict):
        return error_from_json(data)
    return None, _short(str(data))


def error_from_json(data: dict[str, Any]) -> tuple[ErrorKind | None, str]:
    """OpenAI `{"error": {...}}`, plain `{"error": "..."}`, Oxen `{status_message}`, `{detail}`."""
    error = data.get("error")
    message: Any = None
    code: Any = None
    if isinstance(error, dict):
        message = error.get("message") or error.get("type")
        code = error.get("code")
    elif error:
        message = error
    message = message or data.get("status_message") or data.get("message") or data.get("detail")
    kind = None
    if code == 429 or code == "rate_limit_exceeded":
        kind = ErrorKind.RATE_LIMITED
    elif code == "model_not_found":
        kind = ErrorKind.MODEL_MISSING
    return kind, _short(message if isinstance(message, str) else json.dumps(message or data))


def describe_body(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if "<html" in text[:2000].lower() or "<!doctype" in text[:200].lower():
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        return f"an HTML page ({_short(title.group(1)) if title else 'no title'})"
    return _short(text)


def _short(text: str) -> str:
    """One line. Not cut here: a cut before redaction could leave part of a key (bounds.text
    redacts, then cuts)."""
    return " ".join(text.split())


def transport_failure(exc: httpx.HTTPError, run: Exchange) -> ProbeFailure:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ProbeFailure(
            ErrorKind.TIMEOUT, f"could not connect within {run.settings.connect_s:g} s"
        )
    if isinstance(exc, httpx.TimeoutException):
        phase = "response headers" if run.headers_at is None else "more data"
        return ProbeFailure(ErrorKind.TIMEOUT, f"waited too long for {phase}")
    if run.headers_at is not None:
        return ProbeFailure(
            ErrorKind.BAD_RESPONSE,
            f"the connection dropped mid-stream after {run.chunks} chunks ({_short(detail)})",
        )
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" not in detail.lower():
        # The server answered, but not in HTTP we accept (e.g. a header past h11's limit).
        return ProbeFailure(ErrorKind.BAD_RESPONSE, f"the response is not valid HTTP ({detail})")
    cause = _root_cause(exc)
    lowered = f"{detail} {cause}".lower()
    if isinstance(cause, socket.gaierror) or any(
        s in lowered for s in ("name or service", "nodename", "getaddrinfo", "name resolution")
    ):
        return ProbeFailure(ErrorKind.NETWORK, f"DNS lookup failed for {run.host}")
    if isinstance(cause, ConnectionRefusedError) or "refused" in lowered:
        return ProbeFailure(ErrorKind.NETWORK, f"connection refused by {run.host}")
    if isinstance(cause, ssl.SSLError) or any(s in lowered for s in ("ssl", "certificate", "tls")):
        return ProbeFailure(ErrorKind.NETWORK, f"TLS failure with {run.host}: {_short(detail)}")
    return ProbeFailure(ErrorKind.NETWORK, f"network error with {run.host}: {_short(detail)}")


def _root_cause(exc: BaseException) -> BaseException:
    """httpx wraps the OS error that says what happened (refused, DNS, TLS); find it."""
    deepest: BaseException = exc
    seen: BaseException | None = exc
    for _ in range(10):  # chains are short; never loop on a cycle
        seen = seen.__cause__ or seen.__context__ if seen else None
        if seen is None:
            break
        if isinstance(seen, OSError):
            deepest = seen
    return deepest
