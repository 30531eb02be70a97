"""`oss-monitor catalog check|sync`: keep the catalogue true to what providers serve.

Light at import time like the other commands: httpx, anyio, pydantic and ruamel are imported inside
`run`. Exit codes as `probe`: `check` exits 0 when at least one endpoint lists the model and
1 when none does; 2 for bad input or configuration (one sentence, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE

if TYPE_CHECKING:
    from monitor.catalog import Price
    from monitor.export.catalog_sync import CatalogDiff
    from monitor.upstream.catalog_check import Check

MODELS_DEV_URL = "https://models.dev/api.json"
MAX_API_BYTES = 32_000_000  # api.json is a few MB; refuse anything far bigger
RECORD = "catalog"  # the undo record's `tool`: it is kept beside the exports' records

EXAMPLES = f"""examples:
  oss-monitor catalog check                  ask every enabled endpoint which models it serves
  oss-monitor catalog check --endpoint groq --json
  oss-monitor catalog sync                   what models.dev lists that the catalogue lacks
  oss-monitor catalog sync --write           merge it into your providers.yaml (new entries
                                             come disabled; a backup is kept beside the file)
  oss-monitor catalog sync --undo            put your providers.yaml back as it was
  oss-monitor catalog sync --from api.json   use a saved copy of {MODELS_DEV_URL}

`check` spends no generation quota: it only calls GET {{base_url}}/models."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    common = a.common()
    text = "check the catalogue against the providers (check) and models.dev (sync)"
    parser = sub.add_parser(
        "catalog",
        help=text,
        description=text + ".",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="GET {base_url}/models per endpoint: listed, renamed, missing, gone, auth",
        parents=[common],
    )
    check.add_argument("--endpoint", metavar="ID", help="check only this endpoint (even disabled)")
    check.add_argument("--json", action="store_true", help="print JSON instead of lines")
    sync = actions.add_parser(
        "sync",
        help="compare with models.dev; --write merges into your providers.yaml",
        parents=[common],
    )
    source = sync.add_mutually_exclusive_group()
    source.add_argument("--from", dest="source_file", metavar="FILE", help="a saved api.json")
    source.add_argument("--url", default=MODELS_DEV_URL, help=f"default {MODELS_DEV_URL}")
    sync.add_argument(
        "--write",
        action="store_true",
        help="merge into your providers.yaml (--providers FILE, else the user catalogue)",
    )
    sync.add_argument("--undo", action="store_true", help="put back the file before the last sync")
    sync.add_argument("--json", action="store_true", help="print the diff as JSON")


def run(args: argparse.Namespace) -> int:
    from monitor.export import ExportError
    from monitor.export.catalog_sync import SyncError

    try:
        return _check(args) if args.catalog_command == "check" else _sync(args)
    except (SyncError, ExportError) as exc:
        print(f"oss-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE


# ---------------------------------------------------------------- check


def _check(args: argparse.Namespace) -> int:
    import anyio
    import httpx

    from monitor.catalog import load_catalog
    from monitor.export.catalog_sync import SyncError
    from monitor.upstream.catalog_check import Verdict, check_all

    catalog = load_catalog(args.providers)
    if args.endpoint:
        try:
            endpoints = [catalog.get(args.endpoint)]
        except KeyError as exc:
            raise SyncError(str(exc.args[0])) from None
    else:
        endpoints = catalog.enabled()
    if not endpoints:
        raise SyncError("no enabled endpoint in the catalogue; enable one in providers.yaml")

    async def ask() -> list:
        async with httpx.AsyncClient(headers={"user-agent": "oss-monitor/0.1"}) as client:
            return await check_all(endpoints, client, os.environ)

    checks = anyio.run(ask)
    _record(args, checks)
    if args.json:
        print(json.dumps([c.as_json() for c in checks], indent=2))
    else:
        for endpoint, c in zip(endpoints, checks, strict=True):
            print(f"{c.endpoint_id:<18} {c.verdict.value:<16} {c.detail}")
            if endpoint.deprecated:
                print(f"{'':<35} note: {endpoint.retirement()}")
        listed = sum(c.verdict is Verdict.LISTED for c in checks)
        print(f"{len(checks)} endpoints checked, {listed} list {catalog.model}.")
    return EXIT_OK if any(c.verdict is Verdict.LISTED for c in checks) else EXIT_UNHEALTHY


def _record(args: argparse.Namespace, checks: list[Check]) -> None:
    """Keep each endpoint's last check in the store, where the dashboard shows it."""
    from datetime import UTC, datetime

    from monitor.cli.load import open_store
    from monitor.store import StoreError
    from monitor.upstream.catalog_check import RECORD as CHECKS

    now = datetime.now(UTC)
    try:
        open_store(args).remember(CHECKS, {c.endpoint_id: c.record(now) for c in checks})
    except StoreError as exc:
        print(f"oss-monitor: the checks were not stored ({exc})", file=sys.stderr)


# ---------------------------------------------------------------- sync


def _sync(args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime

    from monitor.catalog import default_catalog_path, load_catalog, user_catalog_path
    from monitor.export import files
    from monitor.export.catalog_sync import SyncError, compute_diff, load_api, merge

    target = Path(
        args.providers or os.environ.get("OSS_MONITOR_PROVIDERS") or user_catalog_path()
    ).expanduser()
    if args.undo:
        print(_undo(target, explicit=bool(args.providers)))
        return EXIT_OK
    if args.write and target.resolve() == default_catalog_path().resolve():
        raise SyncError(
            f"{target} is the catalogue shipped with oss-monitor; sync writes your own "
            "providers.yaml, so leave out --providers or name another file"
        )
    diff = compute_diff(load_api(_read_source(args)), load_catalog(args.providers))
    source = args.source_file or args.url
    if args.json:
        print(json.dumps({"source": source, **diff.as_json()}, indent=2))
    else:
        print(f"Compared with {source}:")
        print("\n".join(_describe(diff)))
    if not args.write:
        if not diff.empty and not args.json:
            print(f"Nothing was written; --write merges this into {target}.")
        return EXIT_OK
    existing = files.read(target)
    before = existing.text if existing else None
    after = merge(before, diff, target, date.today())
    if after == before:
        message = f"{target} already agrees with models.dev; nothing changed."
    else:
        files.check_writable(target)
        backup = files.backup(target, existing.text, existing.mode) if existing else None
        files.write_atomic(target, after, existing.mode if existing else files.NEW_FILE_MODE)
        record = files.Record(
            path=str(target.resolve()),
            backup=str(backup) if backup else None,
            written=files.digest(after),
            tool=RECORD,
            what="models.dev",
            at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        files.save_record(record, os.environ)
        kept = f"the previous version is in {backup}" if backup else "the file is new"
        message = f"Wrote {target} ({kept}); `oss-monitor catalog sync --undo` undoes it."
    print(message, file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def _undo(target: Path, explicit: bool) -> str:
    from monitor.export import files
    from monitor.export.catalog_sync import SyncError

    synced = (r for r in files.records(os.environ) if r.tool == RECORD)
    record = next(synced, None)  # the newest
    if record is None:
        raise SyncError("there is no catalog sync to undo")
    path = Path(record.path)
    if explicit and target.resolve() != path.resolve():
        raise SyncError(f"the last catalog sync wrote {path}, not {target}")
    current = files.read(path)
    if current is None or files.digest(current.text) != record.written:
        where = f"its backup is {record.backup}" if record.backup else "the sync had created it"
        raise SyncError(
            f"{path} was changed after the sync, so undo would lose those edits; {where}"
        )
    if record.backup is None:
        files.check_writable(path)
        path.resolve().unlink()
        files.drop_record(path, os.environ)
        return f"Deleted {path}, which the sync created."
    saved = files.read(Path(record.backup))
    if saved is None:
        raise SyncError(f"the backup {record.backup} is gone, so {path} cannot be restored")
    files.write_atomic(path, saved.text, saved.mode)
    files.drop_record(path, os.environ)
    return f"Restored {path} from {record.backup}."


def _read_source(args: argparse.Namespace) -> bytes:
    import anyio

    from monitor.export.catalog_sync import SyncError

    if args.source_file is None:
        return anyio.run(_download, args.url)
    path = Path(args.source_file).expanduser()
    try:
        if path.stat().st_size > MAX_API_BYTES:
            raise SyncError(f"{path} is over {MAX_API_BYTES:,} bytes; is it models.dev's api.json?")
        return path.read_bytes()
    except OSError as exc:
        raise SyncError(f"cannot read {path} ({exc.strerror}); check --from") from None


async def _download(url: str) -> bytes:
    import httpx

    from monitor.export.catalog_sync import SyncError
    from monitor.upstream.catalog_check import read_capped

    timeout = httpx.Timeout(30.0, connect=10.0)
    headers = {"user-agent": "oss-monitor/0.1", "accept": "application/json"}
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise SyncError(
                    f"{url} answered HTTP {response.status_code}; try later or pass --from FILE"
                )
            body = await read_capped(response, MAX_API_BYTES)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SyncError(
            f"cannot fetch {url} ({type(exc).__name__}); check the network or pass --from FILE"
        ) from None
    if body is None:
        raise SyncError(f"{url} sent over {MAX_API_BYTES:,} bytes; pass --from FILE instead")
    return body


# ---------------------------------------------------------------- showing the diff


def _describe(diff: CatalogDiff) -> list[str]:
    """The diff as lines for a terminal; every value is already clean printable text."""
    from monitor.export.catalog_sync import entry

    if diff.empty:
        return ["The catalogue agrees with models.dev about gpt-oss-120b."]
    lines = []
    if diff.new:
        lines.append(f"New at models.dev ({len(diff.new)}):")
        for o in diff.new:
            if entry(o) is None:
                lines.append(f"  + {o.suggested_id}: {o.model} (no usable OpenAI-compatible URL)")
                continue
            facts = [o.base_url, o.model, o.api_key_env or "no key", _money(o.price)]
            facts += [f"context {o.context}" if o.context else "", _output(o.max_output)]
            lines.append(f"  + {o.suggested_id}: " + ", ".join(f for f in facts if f))
    if diff.changed:
        lines.append(f"Changed ({len(diff.changed)}):")
        lines += [f"  ~ {c.endpoint_id} {c.field}: {_value(c.old)} -> {_value(c.new)}"
                  for c in diff.changed]  # fmt: skip
    if diff.dropped:
        lines.append(f"No longer listed ({len(diff.dropped)}):")
        for d in diff.dropped:
            now = f" (it lists {d.listed_now})" if d.listed_now else ""
            lines.append(f"  - {d.endpoint_id}: {d.provider} does not list {d.model}{now}")
    return lines


def _money(price: Price | None) -> str:
    return f"${price.input:g}/${price.output:g} per 1M" if price else ""


def _output(max_output: int | None) -> str:
    return f"output {max_output}" if max_output else ""


def _value(value: Any) -> str:
    from monitor.catalog import Price

    if isinstance(value, dict):
        return _money(Price(**value))
    return "none" if value is None else str(value)
