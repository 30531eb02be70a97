"""How each provider dialect wants a chat-completion request built.

Everything non-standard about a provider lives here, so the prober stays one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.catalog import Credentials, Endpoint
from monitor.core.models import ErrorKind
from monitor.upstream.bounds import header_value
from monitor.upstream.classify import ProbeFailure


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


def build_request(endpoint: Endpoint, creds: Credentials, payload: dict[str, Any]) -> Request:
    """Turn an OpenAI-shaped payload (without `model`) into this endpoint's request; a key
    that cannot go in a header is a ProbeFailure naming its variable."""
    url = f"{creds.url}/chat/completions"
    headers = {"accept": "text/event-stream", "user-agent": "oss-monitor/0.1"}
    body = dict(payload)
    if endpoint.dialect == "modelslab":
        # ModelsLab reads the key and the model from the JSON body, not from headers.
        body["model_id"] = endpoint.model
        if creds.api_key:
            body["key"] = creds.api_key
        return Request(url, headers, body)
    # openai and cloudflare differ only in the base URL (account id), resolved in the catalogue.
    body["model"] = endpoint.model
    if creds.api_key:
        try:
            key = header_value(creds.api_key, endpoint.api_key_env or "the key variable")
        except ValueError as exc:  # httpx would raise UnicodeEncodeError mid-round
            raise ProbeFailure(ErrorKind.AUTH, str(exc)) from None
        headers["authorization"] = f"Bearer {key}"
    return Request(url, headers, body)
