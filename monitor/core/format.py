"""Showing text we did not write (a provider's, a file's) as plain characters.

Provider text reaches a terminal, Rich markup and alert hooks. It must never act there: a
control character (ESC[2J, an OSC title, a bidi override) is shown as a visible stand-in, a
lone surrogate (which cannot be encoded, stored or printed) as its escape, and Rich markup is
escaped where text goes into markup.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, bidi overrides and isolates, lone surrogates.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with every character that could act on a terminal or fail to encode made
    visible: C0 controls as their Unicode control pictures (ESC as ␛), others as `\\uXXXX`."""
    return UNPRINTABLE.sub(_stand_in, text)


def markup(text: str) -> str:
    """`printable(text)` escaped for Rich markup: `[/bold]` prints as itself."""
    from rich.markup import escape

    return escape(printable(text))


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"\\u{code:04x}"
