"""Alerts without Prometheus: transitions with hysteresis, sent to a command or a webhook.

An endpoint goes *down* after N failed probes in a row and *recovers* after M ok probes in a
row, so one blip pages nobody. The last state each endpoint was alerted in is kept in the
store, so a cron job that runs every few minutes (on any host) sees transitions, not states.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from monitor.core.format import printable
from monitor.core.models import SIDE_KINDS, EndpointStats, ErrorKind, Sample

UP, DOWN = "up", "down"
BEST = "__best__"  # the key under which the best endpoint's id is remembered


@dataclass(frozen=True)
class Alert:
    event: str  # "down", "recovered" or "best_changed"
    endpoint: str
    name: str
    message: str
    at: str

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def transitions(
    stats: Sequence[EndpointStats],
    recent: Mapping[str, Sequence[Sample]],
    remembered: Mapping[str, str],
    down_after: int,
    up_after: int,
) -> tuple[list[Alert], dict[str, str]]:
    """New alerts, and what to remember. `recent` is each endpoint's samples, oldest first."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    alerts: list[Alert] = []
    memory: dict[str, str] = {}
    for s in stats:
        chat = [x for x in recent.get(s.id, ()) if x.kind not in SIDE_KINDS]
        # A missing or refused key is the user's problem, not the provider going down.
        chat = [x for x in chat if x.error not in (ErrorKind.NO_KEY, ErrorKind.AUTH)]
        before = remembered.get(s.id, UP)
        after = before
        if len(chat) >= down_after and not any(x.ok for x in chat[-down_after:]):
            after = DOWN
        elif len(chat) >= up_after and all(x.ok for x in chat[-up_after:]):
            after = UP
        memory[s.id] = after
        if after != before:
            event = "down" if after == DOWN else "recovered"
            why = chat[-1].message if after == DOWN else s.why
            # The message goes to a command's environment, a webhook and stderr: plain text.
            alerts.append(Alert(event, s.id, s.endpoint.name, printable(why), now))
    # The best endpoint changes only when the remembered one stops being up (hysteresis
    # again): a faster endpoint overtaking it by a few ms is no reason to page anyone.
    previous = remembered.get(BEST)
    if previous is not None and memory.get(previous) == UP:
        memory[BEST] = previous
    else:
        ranked = sorted((s for s in stats if s.rank and memory[s.id] == UP), key=_rank)
        if ranked:
            best = ranked[0]
            memory[BEST] = best.id
            if previous is not None and previous != best.id:
                message = f"best endpoint is now {best.id} (was {previous}): {best.why}"
                alerts.append(Alert("best_changed", best.id, best.endpoint.name, message, now))
    return alerts, memory


def _rank(s: EndpointStats) -> int:
    return s.rank or 0


def deliver(alerts: Sequence[Alert], command: str | None, webhook: str | None) -> list[str]:
    """Send each alert; return one sentence per delivery that failed (never raises)."""
    problems: list[str] = []
    for alert in alerts:
        if command:
            problems += _run(command, alert)
        if webhook:
            problems += _post(webhook, alert)
    return problems


def _run(command: str, alert: Alert) -> list[str]:
    env_vars = {
        "OSS_MONITOR_EVENT": alert.event,
        "OSS_MONITOR_ENDPOINT": alert.endpoint,
        "OSS_MONITOR_MESSAGE": alert.message,
    }
    try:
        done = subprocess.run(
            shlex.split(command),
            input=alert.as_json(),
            text=True,
            env={**os.environ, **env_vars},
            timeout=30,
            capture_output=True,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return [f"alert command {command!r} could not run ({exc}); check --alert-command"]
    if done.returncode != 0:
        return [f"alert command {command!r} exited with {done.returncode}; check the command"]
    return []


def _post(url: str, alert: Alert) -> list[str]:
    import httpx

    try:
        response = httpx.post(
            url,
            content=alert.as_json(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        return [f"alert webhook {url} failed ({exc}); check --alert-webhook"]
    if response.status_code >= 300:
        return [f"alert webhook {url} answered HTTP {response.status_code}; check the URL"]
    return []
