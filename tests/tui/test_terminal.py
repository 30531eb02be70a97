"""The dashboard's terminal output survives the terminal closing."""

from __future__ import annotations

import contextlib
import os
import pty

from monitor.tui.terminal import HangUpProofOutput


def test_writes_to_a_closed_terminal_are_dropped_not_raised() -> None:
    ours, theirs = pty.openpty()
    terminal = open(theirs, "w")  # noqa: SIM115 (closing it flushes into the closed terminal)
    try:
        output = HangUpProofOutput(terminal)
        output.write("before")
        output.flush()
        assert not output.closed
        os.close(ours)  # the window closes: writes to the terminal now fail with EIO
        assert output.write("after") == len("after")
        output.flush()
        output.write("and more")
        assert output.closed
    finally:
        with contextlib.suppress(OSError):
            terminal.close()
