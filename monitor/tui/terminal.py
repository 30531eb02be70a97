"""Textual's terminal driver, made to survive the terminal going away.

Textual writes to the terminal from a thread that dies on the first failed write. Once the
terminal is closed (the window shut, ssh dropped, tmux killed), every write fails with EIO: the
thread dies, its queue fills, and the app blocks for ever on its next frame or on quitting,
an orphan holding the demo's folder. Writing through `HangUpProofOutput` keeps the thread
alive: what cannot reach a closed terminal is dropped, and the app quits on SIGHUP as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from textual.driver import Driver


class HangUpProofOutput:
    """A terminal file whose writes never raise: after the first failure they are dropped."""

    def __init__(self, terminal: TextIO) -> None:
        self._terminal = terminal
        self.closed = False  # the terminal failed a write: it is gone

    def write(self, text: str) -> int:
        self._unless_closed(self._terminal.write, text)
        return len(text)

    def flush(self) -> None:
        self._unless_closed(self._terminal.flush)

    def _unless_closed(self, action: Callable[..., object], *args: object) -> None:
        if not self.closed:
            try:
                action(*args)
            except OSError:
                self.closed = True

    def fileno(self) -> int:
        return self._terminal.fileno()

    def isatty(self) -> bool:
        return True


def hang_up_proof(chosen: type[Driver]) -> type[Driver]:
    """The driver Textual chose, writing through `HangUpProofOutput` where it writes to a
    terminal file (Linux and macOS); any other driver as it is."""
    if sys.platform == "win32":
        return chosen
    from textual.drivers.linux_driver import LinuxDriver

    if chosen is not LinuxDriver:
        return chosen

    class HangUpProofDriver(LinuxDriver):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = HangUpProofOutput(self._file)  # type: ignore[assignment,arg-type]

    return HangUpProofDriver
