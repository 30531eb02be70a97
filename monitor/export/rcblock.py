"""A block of ours in a shell-script config (Crush's `crushrc`), between two marker lines.

The script is the user's code: we never parse or rewrite it. Our lines live between
`BEGIN` and `END`; exporting again replaces only them, and a new block goes at the end,
where (like in a shell) later lines win. Markers we cannot pair up are refused.
"""

from __future__ import annotations

from pathlib import Path

from monitor.export.common import ExportError

BEGIN = "# >>> oss-monitor >>> (written by `oss-monitor export`; edits inside are replaced)"
END = "# <<< oss-monitor <<<"
_BEGIN_PREFIX = "# >>> oss-monitor >>>"


def split(text: str, path: Path) -> tuple[str, str | None, str]:
    """(before, our block's lines or None, after); refuses unpaired or repeated markers."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(_BEGIN_PREFIX)]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == END]
    if not begins and not ends:
        return text, None, ""
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        line = (begins or ends)[0] + 1
        raise ExportError(
            f"{path}:{line}: the oss-monitor block's marker lines are not one matched pair; "
            "fix the file, nothing was changed"
        )
    start, end = begins[0], ends[0]
    return "".join(lines[:start]), "".join(lines[start + 1 : end]), "".join(lines[end + 1 :])


def put(text: str | None, body: list[str], path: Path) -> str:
    """`text` with our block holding `body` (one shell command per item)."""
    block = "".join(f"{line}\n" for line in [BEGIN, *body, END])
    before, ours, after = split(text or "", path)
    if ours is not None:
        return before + block + after
    if before and not before.endswith("\n"):
        before += "\n"
    return before + ("\n" if before.strip() else "") + block


def remove(text: str, path: Path) -> str:
    """`text` without our block (and the blank line we put before it)."""
    before, ours, after = split(text, path)
    if ours is None:
        return text
    if before.endswith("\n\n"):
        before = before[:-1]
    return before + after
