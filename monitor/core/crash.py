"""Our own bugs, contained: the traceback goes to a log file, the screen gets one sentence.

An unexpected exception while probing one endpoint (or recording traffic, or refreshing the
router's ranking) must not stop the others. The caller turns it into that one task's failure
with `ErrorKind.INTERNAL` and the sentence `record()` returns, which says where the log is.
"""

from __future__ import annotations

import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from monitor.core.format import printable

MAX_LOG_BYTES = 1 << 20  # then the log starts over: it is for a bug report, not an archive
LOG_NAME = "internal-errors.log"


def log_path() -> Path:
    """The user's log folder ($XDG_STATE_HOME/oss-monitor/log on Linux)."""
    from platformdirs import user_log_dir

    return Path(user_log_dir("oss-monitor")) / LOG_NAME


def record(exc: BaseException, doing: str) -> str:
    """Append the traceback to the log; return one sentence for the user (never raises)."""
    what = printable(f"{type(exc).__name__}: {exc}")[:200]
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.unlink()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        trace = "".join(traceback.format_exception(exc))
        # One write per entry: several processes may share the file.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"--- {stamp} while {doing}\n{trace}\n".encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError as error:
        return f"internal error while {doing} ({what}); the log {path} could not be written " \
               f"({error.strerror}), please report this bug"  # fmt: skip
    return f"internal error while {doing} ({what}); please report it with the log {path}"
