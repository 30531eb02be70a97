"""Where the local router listens unless told otherwise, and the variable holding its token.

The router command and the exports that point a tool at the router both need them; kept
apart from models.py so the command line can read them without importing pydantic.
"""

import json
from datetime import datetime

ROUTER_DEFAULT_PORT = 8765
ROUTER_DEFAULT_URL = f"http://127.0.0.1:{ROUTER_DEFAULT_PORT}/v1"
ROUTER_TOKEN_ENV = "OSS_MONITOR_ROUTER_TOKEN"

# The router stores each endpoint's circuit breaker under this key prefix (JSON values), so the
# dashboard can show which endpoints the router holds back.
ROUTER_CIRCUITS = "router-circuit"


def open_circuits(stored: dict[str, str], now: datetime) -> list[str]:
    """Endpoint ids whose stored circuit still holds requests back at `now`."""
    held = []
    for endpoint_id, text in stored.items():
        try:
            circuit = json.loads(text)
            holding = datetime.fromisoformat(circuit["until"]) > now
        except (ValueError, KeyError, TypeError):  # not ours, or from another version
            continue
        if holding and circuit.get("state") in ("open", "rate-limited"):
            held.append(endpoint_id)
    return sorted(held)
