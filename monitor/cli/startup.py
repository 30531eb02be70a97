"""Start-up without the cyclic garbage collector.

Start-up builds some 100,000 objects (modules, classes, the catalogue) that all live until
exit; the collector walking them again and again cost 70-120 ms of a `probe --once` on a busy
machine. So `main` runs with it off (`collector_off`), and a command calls `started()` where
its start-up ends and its real work begins: what exists then is frozen (never walked again)
and the collector runs again for what comes next. Every command that runs for long (probing,
serving, the dashboard) calls it; short ones exit with the collector still off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_off() -> Iterator[None]:
    """The collector off for the block (`main`), frozen and on again after it: the process
    exits next, and frozen objects spare interpreter shutdown its last full collection
    (~250 ms a run)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        (gc.enable if was_enabled else gc.disable)()


def started() -> None:
    """Start-up is over: freeze what it built and let the collector run from here on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
