"""When an endpoint counts as down: N failed probes in a row, and back up after M ok ones.

The alerts and the ranking share the rule, so an endpoint at 79% up with scattered failures
stays "degraded" instead of flipping to "down" on every failed probe.
"""

from __future__ import annotations

from collections.abc import Iterable

DOWN_AFTER = 3  # failed probes in a row before an endpoint is down
UP_AFTER = 2  # ok probes in a row before a down endpoint is up again


def is_down(
    history: Iterable[bool], down_after: int = DOWN_AFTER, up_after: int = UP_AFTER
) -> bool:
    """Whether probes (oldest first, True = ok) leave the endpoint down."""
    down = False
    failed = ok = 0
    for answered in history:
        failed, ok = (0, ok + 1) if answered else (failed + 1, 0)
        if failed >= down_after:
            down = True
        elif down and ok >= up_after:
            down = False
    return down
