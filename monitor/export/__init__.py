"""Write the chosen endpoint into coding tools' configs, safely.

`plan_export` reads the tool's file and computes the new text without writing anything (a dry
run shows its diff); `apply_export` writes it atomically after a timestamped backup and
records how to undo; `undo_export` puts back the file as it was before our last export.
Only our own entry and the selected model change: every other byte of the file is kept.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from monitor.catalog import Endpoint, resolve
from monitor.core.router_address import ROUTER_TOKEN_ENV as TOKEN_ENV
from monitor.export import (
    aider,
    claude_code,
    codex,
    continue_dev,
    crush,
    files,
    goose,
    kilo_legacy,
    opencode,
    qwen,
    threeway,
    zed,
)
from monitor.export.common import ExportError, Target, Writer

__all__ = [
    "TOOLS",
    "ExportError",
    "ExportPlan",
    "ExportResult",
    "apply_export",
    "default_config_path",
    "describe",
    "last_export",
    "plan_export",
    "undo",
    "undo_export",
]

_WRITERS: dict[str, Writer] = {
    "opencode": opencode.OPENCODE,
    "kilo": opencode.KILO,
    "kilo-legacy": kilo_legacy.WRITER,
    "crush": crush.WRITER,
    "continue": continue_dev.WRITER,
    "aider": aider.WRITER,
    "codex": codex.WRITER,
    "qwen": qwen.WRITER,
    "claude-code": claude_code.WRITER,
    "goose": goose.WRITER,
    "zed": zed.WRITER,
    "roo": kilo_legacy.ROO,
}
TOOLS: dict[str, str] = {tool: writer.name for tool, writer in _WRITERS.items()}
# The API each tool speaks to the router; every other tool speaks chat completions.
ROUTER_APIS: dict[str, str] = {"codex": "Responses", "claude-code": "Messages"}


@dataclass(frozen=True)
class ExportPlan:
    tool: str
    path: Path  # the file that will be written
    before: str | None  # current text (None = file does not exist)
    after: str  # text that will be written
    diff: str  # unified diff before -> after, with any literal key masked
    changed: bool  # False when exporting again changes nothing (idempotent)
    notes: list[str]  # plain sentences for the user
    mode: int | None  # file mode to write (0o600 when it holds a literal key)
    companions: dict[Path, str]  # files wholly ours written alongside (see Rendered)
    what: str = ""  # the endpoint id, or "the router"


@dataclass(frozen=True)
class ExportResult:
    tool: str
    path: Path
    backup: Path | None  # made before the change (None if the file was new or nothing changed)
    changed: bool
    message: str


def default_config_path(tool: str, env: Mapping[str, str] | None = None) -> Path:
    return _writer(tool).default_path(os.environ if env is None else env)


def plan_export(
    tool: str,
    endpoint: Endpoint | None,
    *,
    config: Path | None = None,
    include_key: bool = False,
    env: Mapping[str, str] | None = None,
    router_url: str | None = None,
) -> ExportPlan:
    """Plan writing `endpoint`, or with `router_url` (and endpoint None) the local router."""
    env = os.environ if env is None else env
    writer = _writer(tool)
    if router_url is not None:
        endpoint = _router_endpoint(router_url, env)
    if endpoint is None:
        raise ValueError("plan_export needs an endpoint or a router_url")
    path = Path(config).expanduser() if config else writer.default_path(env)
    target = _target(endpoint, env, include_key)
    existing = files.read(path)
    before = existing.text if existing else None
    rendered = writer.render(before, target, path)
    after = files.same_newlines(before, rendered.after)
    companions = {p: t for p, t in rendered.companions.items() if _text_of(p) != t}
    changed = after != before or bool(companions)
    if changed:
        files.check_writable(path)
    secrets = [s for s in (target.key, resolve(endpoint, env).api_key) if s]
    holds_key = any(s in after for s in secrets)
    return ExportPlan(
        tool=tool,
        path=path,
        before=before,
        after=after,
        diff=_diff(path, before, after, secrets) if changed else "",
        changed=changed,
        notes=rendered.notes
        + (writer.overrides(path, env) if writer.overrides else [])
        + [f"It also writes {p}, a file of ours that {writer.name} reads." for p in companions]
        + (_ROUTER_NOTES if router_url is not None else []),
        mode=_mode(existing, holds_key),
        companions=companions,
        what="the router" if router_url is not None else endpoint.id,
    )


def apply_export(plan: ExportPlan, *, env: Mapping[str, str] | None = None) -> ExportResult:
    """Write the plan; `env` (default os.environ) locates the undo record, as in plan_export."""
    env = os.environ if env is None else env
    if not plan.changed:
        return ExportResult(
            plan.tool,
            plan.path,
            None,
            False,
            f"{plan.path} is already up to date; nothing changed.",
        )
    current = files.read(plan.path)
    if (current.text if current else None) != plan.before:
        raise ExportError(f"{plan.path} changed since the export was planned; export again")
    for companion, text in plan.companions.items():
        files.write_atomic(companion, text, files.NEW_FILE_MODE)
    if plan.after == plan.before:
        return ExportResult(plan.tool, plan.path, None, True, f"Updated {plan.tool}'s files.")
    backup = files.backup(plan.path, current.text, current.mode) if current else None
    files.write_atomic(plan.path, plan.after, plan.mode or files.NEW_FILE_MODE, files.Seen(current))
    path = plan.path.expanduser().resolve()
    record = files.Record(
        path=str(path),
        backup=str(backup) if backup else None,
        written=files.digest(plan.after),
        tool=plan.tool,
        what=plan.what,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        copy=str(files.save_copy(path, plan.after, env)),
    )
    files.save_record(record, env)
    kept = f"the previous version is in {backup}" if backup else "the file is new"
    message = (
        f"Wrote {plan.path} ({kept}); `oss-monitor export {plan.tool} --undo` "
        "(or `u` in the dashboard) undoes it."
    )
    return ExportResult(plan.tool, plan.path, backup, True, message)


def undo_export(
    tool: str, *, config: Path | None = None, env: Mapping[str, str] | None = None
) -> ExportResult:
    """Undo our last export to `config`, or without it, our last export of `tool`."""
    env = os.environ if env is None else env
    _writer(tool)
    if config is not None:
        record = files.load_record(config, env)
        if record is None:
            raise ExportError(f"there is no export to {config} to undo")
    else:
        record = next((r for r in files.records(env) if r.tool == tool), None)
        if record is None:
            raise ExportError(f"there is no export to {TOOLS[tool]} to undo")
    return undo(record, env)


def last_export(env: Mapping[str, str] | None = None) -> files.Record | None:
    """The newest export that can still be undone, from any run, to any file (a catalogue
    sync keeps its record there too, and is not an export)."""
    found = [r for r in files.records(os.environ if env is None else env) if r.tool in TOOLS]
    return found[0] if found else None


def describe(record: files.Record) -> str:
    """What undoing an export does, in one sentence."""
    when = f" at {datetime.fromisoformat(record.at):%Y-%m-%d %H:%M}" if record.at else ""
    tool = TOOLS.get(record.tool, "a tool")
    export = f"the export of {record.what or 'an endpoint'} to {tool}{when}"
    if record.backup is None:
        return f"undo {export}: delete {record.path}, which it created"
    return f"undo {export}: restore {record.path} from {record.backup}"


def undo(record: files.Record, env: Mapping[str, str] | None = None) -> ExportResult:
    """Put back the file as it was before the export `record` describes."""
    env = os.environ if env is None else env
    path = Path(record.path)
    current = files.read(path)
    if current is None:
        raise ExportError(f"{path} is gone since our export; there is nothing to undo")
    if files.digest(current.text) != record.written:
        return _undo_keeping_theirs(path, record, current, env)
    if record.backup is None:
        files.check_writable(path)
        path.resolve().unlink()
        files.drop_record(path, env)
        return ExportResult(
            record.tool, path, None, True, f"Deleted {path}, which our export created."
        )
    backup = Path(record.backup)
    saved = files.read(backup)
    if saved is None:
        raise ExportError(f"the backup {backup} is gone, so {path} cannot be restored")
    files.write_atomic(path, saved.text, saved.mode)
    files.drop_record(path, env)
    return ExportResult(record.tool, path, backup, True, f"Restored {path} from {backup}.")


def _text_of(path: Path) -> str | None:
    existing = files.read(path)
    return existing.text if existing else None


def _undo_keeping_theirs(
    path: Path, record: files.Record, current: files.Existing, env: Mapping[str, str]
) -> ExportResult:
    """The file changed since our export: take our keys out and keep the rest (threeway)."""
    before = files.read(Path(record.backup)) if record.backup else None
    written = files.read(Path(record.copy)) if record.copy else None
    merged = None
    if written is not None and (before is not None or record.backup is None):
        merged = threeway.take_back(
            path, before.text if before else None, written.text, current.text
        )
    if merged is None:
        where = f"its backup is {record.backup}" if record.backup else "we had created it"
        raise ExportError(
            f"{path} was changed after our export, also where our export wrote, so undo would "
            f"lose those edits; {where}"
        )
    saved = files.backup(path, current.text, current.mode)
    if merged.empty and record.backup is None:
        files.check_writable(path)
        path.resolve().unlink()
    else:
        files.write_atomic(path, merged.text, current.mode)
    files.drop_record(path, env)
    theirs = f" ({', '.join(merged.theirs)})" if merged.theirs else ""
    return ExportResult(
        record.tool,
        path,
        saved,
        True,
        f"{path} was changed since our export{theirs}: removed our entry and kept those "
        f"changes; the file as it was is in {saved}.",
    )


def _writer(tool: str) -> Writer:
    if tool not in _WRITERS:
        raise ExportError(f"unknown tool {tool!r}; choose one of {', '.join(_WRITERS)}")
    return _WRITERS[tool]


_ROUTER_NOTES = [
    "Keep `oss-monitor router` running while you use it: every request then goes to the "
    "best endpoint at that moment."
]


def _router_endpoint(url: str, env: Mapping[str, str]) -> Endpoint:
    """The router as an endpoint the writers understand; its key is the router's token."""
    try:
        return Endpoint(
            id="router",
            name="local router",
            base_url=url,
            model="gpt-oss-120b",
            api_key_env=TOKEN_ENV if env.get(TOKEN_ENV) else None,
        )
    except ValidationError:
        raise ExportError(
            f"the router URL {url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8765/v1"
        ) from None


def _target(endpoint: Endpoint, env: Mapping[str, str], include_key: bool) -> Target:
    creds = resolve(endpoint, env)
    url_missing = [v for v in endpoint.url_vars if v in creds.missing]
    if url_missing:
        raise ExportError(
            f"{endpoint.id}'s URL needs {' and '.join(url_missing)}; set it and export again"
        )
    if include_key and endpoint.api_key_env and creds.api_key is None:
        raise ExportError(
            f"{endpoint.api_key_env} is not set; set it or export without --include-key"
        )
    key = creds.api_key if include_key else None
    return Target(endpoint=endpoint, url=creds.url, key_env=endpoint.api_key_env, key=key)


def _mode(existing: files.Existing | None, holds_key: bool) -> int:
    """0600 whenever the text holds a literal key; otherwise the file keeps its mode."""
    if holds_key:
        return files.SECRET_MODE
    return existing.mode if existing else files.NEW_FILE_MODE


def _diff(path: Path, before: str | None, after: str, secrets: list[str]) -> str:
    old = (before or "").splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    name = str(path)
    text = "".join(difflib.unified_diff(old, new, "/dev/null" if before is None else name, name))
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
