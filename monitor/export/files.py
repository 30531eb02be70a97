"""Safe file handling for exports: careful reads, atomic writes, backups, and undo records."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
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
    stamp: tuple[int, int, int, int] = (0, 0, 0, 0)  # device, inode, size, mtime: see moved()


def read(path: Path) -> Existing | None:
    """The file's text and mode, or None when it does not exist (a symlink is followed)."""
    target = path.resolve()
    try:
        info = target.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ExportError(f"{path} is a folder; pass --config with the config file's path")
        if not stat.S_ISREG(info.st_mode):  # opening a FIFO would block; a device is no config
            raise ExportError(
                f"{path} is not a regular file (a pipe or a device); pass --config with the "
                "config file's path"
            )
        if info.st_size > MAX_BYTES:
            raise ExportError(
                f"{path} is {info.st_size} bytes, too big for a config file; check the path"
            )
        with open(target, encoding="utf-8", newline="") as handle:
            text = handle.read()
        return Existing(text, info.st_mode & 0o777, _stamp(info))
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


@dataclass(frozen=True)
class Seen:
    """The target as we read it (None: there was no file), to refuse a rename over a change."""

    existing: Existing | None


def write_atomic(
    path: Path, text: str, mode: int, seen: Seen | None = None, owner: Path | None = None
) -> None:
    """Temp file in the same folder, every byte written and synced and its size checked, then
    renamed over the target (a symlink stays a link). With `seen`, refuse if the target moved
    since it was read, checked right before the rename. Run as root, the file keeps the
    owner of the target (or of `owner`)."""
    check_writable(path)
    target = path.resolve()
    data = text.encode("utf-8")
    fd, tmp = -1, ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, mode)
        _keep_owner(fd, owner or target)
        _write_all(fd, data)
        os.fsync(fd)
        if os.fstat(fd).st_size != len(data):
            raise OSError(errno.EIO, "the written file is not the size it should be")
        os.close(fd)
        fd = -1
        if seen is not None and moved(target, seen.existing):
            raise ExportError(
                f"{path} changed while we were writing it (an editor saving?); export again, "
                "nothing was changed"
            )
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


def same_newlines(before: str | None, after: str) -> str:
    """A file whose lines all end in CRLF keeps CRLF in the lines we add (a Windows editor's
    file must not come back with mixed endings)."""
    if before and "\r\n" in before and before.count("\r\n") == before.count("\n"):
        return after.replace("\r\n", "\n").replace("\n", "\r\n")
    return after


def backup(path: Path, text: str, mode: int) -> Path:
    """A timestamped copy beside the real file, with the original's mode (it may hold keys)."""
    target = path.resolve()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    copy = target.with_name(f"{target.name}.{stamp}.oss-monitor.bak")
    n = 1
    while copy.exists():
        n += 1
        copy = target.with_name(f"{target.name}.{stamp}-{n}.oss-monitor.bak")
    write_atomic(copy, text, mode, owner=target)
    return copy


def moved(target: Path, seen: Existing | None) -> bool:
    """Has the file changed since `seen` was read: created, deleted, replaced or edited?
    Size, times and inode catch most; the content hash catches an edit within one tick."""
    try:
        info = target.stat()
        if seen is None or _stamp(info) != seen.stamp:
            return True
        # Bytes, not text: reading text would turn CRLF into LF and see a change in every file.
        return hashlib.sha256(target.read_bytes()).hexdigest() != digest(seen.text)
    except FileNotFoundError:
        return seen is not None
    except OSError:
        return True


def _stamp(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (a file-size limit, a nearly full disk): loop, and
    a write that makes no progress is an error, never a silently short file."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _keep_owner(fd: int, target: Path) -> None:
    """Run as root (sudo), a new file would be root's, and its user could not read it."""
    if os.geteuid() != 0:
        return
    try:
        info = target.stat()
    except FileNotFoundError:
        return
    os.fchown(fd, info.st_uid, info.st_gid)


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
    copy: str | None = None  # a copy of that text, for a three-way undo (older records: none)


def record_path(path: Path | str, env: Mapping[str, str]) -> Path:
    key = digest(str(Path(path).expanduser().resolve()))[:16]
    return data_home(env) / "oss-monitor" / "exports" / f"{key}.json"


def save_record(record: Record, env: Mapping[str, str]) -> None:
    where = _ensure_folder(record_path(record.path, env))
    write_atomic(where, json.dumps(asdict(record)) + "\n", 0o600)


def save_copy(path: Path | str, text: str, env: Mapping[str, str]) -> Path:
    """What we wrote, kept privately (it may hold a key) so undo can tell our keys from theirs."""
    copy = record_path(path, env).with_suffix(".written")
    write_atomic(_ensure_folder(copy), text, 0o600)
    return copy


def load_record(path: Path | str, env: Mapping[str, str]) -> Record | None:
    return _load(record_path(path, env))


def records(env: Mapping[str, str]) -> list[Record]:
    """Every export that can still be undone, newest first."""
    folder = data_home(env) / "oss-monitor" / "exports"
    found = [r for f in sorted(folder.glob("*.json")) if (r := _load(f)) is not None]
    return sorted(found, key=lambda r: r.at, reverse=True)


def drop_record(path: Path | str, env: Mapping[str, str]) -> None:
    record_path(path, env).unlink(missing_ok=True)
    record_path(path, env).with_suffix(".written").unlink(missing_ok=True)


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
