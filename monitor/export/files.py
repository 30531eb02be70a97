"""Safe file handling for exports: careful reads, atomic writes, backups, and undo records."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from monitor.export.common import ExportError, data_home

MAX_BYTES = 5_000_000
NEW_FILE_MODE = 0o644
SECRET_MODE = 0o600


@dataclass(frozen=True)
class Existing:
    text: str
    mode: int  # permission bits


def read(path: Path) -> Existing | None:
    """The file's text and mode, or None when it does not exist (a symlink is followed)."""
    target = path.resolve()
    try:
        if target.is_dir():
            raise ExportError(f"{path} is a folder; pass --config with the config file's path")
        size = target.stat().st_size
        if size > MAX_BYTES:
            raise ExportError(f"{path} is {size} bytes, too big for a config file; check the path")
        with open(target, encoding="utf-8", newline="") as handle:
            text = handle.read()
        return Existing(text, target.stat().st_mode & 0o777)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ExportError(
            f"{path}:1: the file is not UTF-8 text; fix the file, nothing was changed"
        ) from None
    except OSError as exc:
        raise ExportError(f"cannot read {path} ({exc.strerror}); check its permissions") from None


def check_writable(path: Path) -> None:
    """Refuse early: a rename would replace even a read-only file, against the owner's wish.
    The mode bits count, not just access: root may write anything, yet 0444 still means no."""
    target = path.resolve()
    if target.exists() and not (os.access(target, os.W_OK) and target.stat().st_mode & 0o200):
        raise ExportError(
            f"{path} is read-only; make it writable (chmod u+w) and export again, "
            "nothing was changed"
        )
    folder = _existing_parent(target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write in {folder}; check its permissions, nothing was changed")


def write_atomic(path: Path, text: str, mode: int) -> None:
    """Temp file in the same folder, fsync, rename over the target (a symlink stays a link)."""
    check_writable(path)
    target = path.resolve()
    fd, tmp = -1, ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        tmp = ""
        _fsync_folder(target.parent)
    except OSError as exc:
        raise ExportError(
            f"cannot write {path} ({exc.strerror}); check the folder, nothing was changed"
        ) from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def backup(path: Path, text: str, mode: int) -> Path:
    """A timestamped copy beside the real file, with the original's mode (it may hold keys)."""
    target = path.resolve()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    copy = target.with_name(f"{target.name}.{stamp}.oss-monitor.bak")
    n = 1
    while copy.exists():
        n += 1
        copy = target.with_name(f"{target.name}.{stamp}-{n}.oss-monitor.bak")
    write_atomic(copy, text, mode)
    return copy


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- undo records


@dataclass(frozen=True)
class Record:
    """Our last export to one file: its backup (None: we created it), what we wrote, and for
    the messages, which tool, what went in and when. One per file, whichever tool wrote it
    (OpenCode and Kilo Code may share a file)."""

    path: str
    backup: str | None
    written: str  # sha256 of the text we wrote, to notice later edits by someone else
    tool: str = ""  # the tool's id, e.g. opencode
    what: str = ""  # the endpoint id, or "the router"
    at: str = ""  # ISO time of the export


def record_path(path: Path | str, env: Mapping[str, str]) -> Path:
    key = digest(str(Path(path).expanduser().resolve()))[:16]
    return data_home(env) / "oss-monitor" / "exports" / f"{key}.json"


def save_record(record: Record, env: Mapping[str, str]) -> None:
    where = _ensure_folder(record_path(record.path, env))
    write_atomic(where, json.dumps(asdict(record)) + "\n", 0o600)


def load_record(path: Path | str, env: Mapping[str, str]) -> Record | None:
    return _load(record_path(path, env))


def records(env: Mapping[str, str]) -> list[Record]:
    """Every export that can still be undone, newest first."""
    folder = data_home(env) / "oss-monitor" / "exports"
    found = [r for f in sorted(folder.glob("*.json")) if (r := _load(f)) is not None]
    return sorted(found, key=lambda r: r.at, reverse=True)


def drop_record(path: Path | str, env: Mapping[str, str]) -> None:
    record_path(path, env).unlink(missing_ok=True)


def _load(where: Path) -> Record | None:
    try:
        return Record(**json.loads(where.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        raise ExportError(f"the undo record {where} is unreadable; delete it") from None


def _ensure_folder(path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {path.parent} ({exc.strerror}); check HOME") from None
    return path


def _existing_parent(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
