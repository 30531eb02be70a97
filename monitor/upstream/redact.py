"""Keys never leave in a message: the ones we sent, and anything shaped like a key."""

from __future__ import annotations

import re

KEY_SHAPES = re.compile(
    r"(Bearer\s+)\S+"
    r"|\b(?:sk|gsk|csk|nvapi|hf|fw|key)[-_][A-Za-z0-9_\-]{8,}"
    r"|\b[0-9A-Fa-f]{32,}\b"  # a bare hex key (some providers' keys have no prefix)
    r"|(://)[^/@\s]+@",  # user:password@ in a URL
    re.I,
)


def redact(text: str, secrets: list[str]) -> str:
    """Hide keys: the real ones we sent, and anything shaped like a key a provider echoes."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return KEY_SHAPES.sub(lambda m: (m.group(1) or m.group(2) or "") + "***" + _at(m), text)


def _at(match: re.Match[str]) -> str:
    return "@" if match.group(2) else ""
