"""`oss-monitor export TOOL`: write the best (or a named) endpoint into a coding tool's config.

The export package, the store and ranking are imported inside `run`, so --help stays light.
Exit codes: 0 done, 1 refused (endpoint down or without key, no --force), 2 bad input or a
config file we cannot use.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import TYPE_CHECKING

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, UsageError
from monitor.core.router_address import ROUTER_DEFAULT_URL as DEFAULT_URL
from monitor.core.router_address import ROUTER_TOKEN_ENV as TOKEN_ENV

if TYPE_CHECKING:
    from monitor.catalog import Endpoint

EXAMPLES = """examples:
  oss-monitor export opencode --dry-run        show the diff for the best endpoint, write nothing
  oss-monitor export opencode                  write it (a backup is kept beside the file)
  oss-monitor export crush --endpoint groq     a named endpoint instead of the best
  oss-monitor export kilo-legacy --include-key an import file with the literal key (mode 0600)
  oss-monitor export opencode --undo           put back the file as it was before
  oss-monitor export opencode --via-router     follow the ranking on every request through
                                               `oss-monitor router` (every tool)
  oss-monitor export claude-code --via-router  Claude Code through the router (router only)
  oss-monitor export --list                    every tool: the file written, whether it is
                                               installed here, the API it speaks to the router

tools: opencode, kilo (Kilo Code 7.x), kilo-legacy (Kilo Code legacy import file),
       crush, continue, aider, codex (endpoints serving the Responses API, or the router),
       qwen (Qwen Code), goose, zed, roo (Roo Code import file),
       claude-code (through the router only)"""

# Tools people ask for that cannot use an OpenAI-compatible endpoint from a config file.
UNSUPPORTED = {
    "gemini": "Gemini CLI speaks only Google's Gemini API, not OpenAI's; use qwen (Qwen Code, "
    "its OpenAI-compatible fork) instead",
    "cline": "Cline keeps its settings in VS Code and has no import file; add an "
    "'OpenAI Compatible' provider by hand with the values `oss-monitor export opencode "
    "--dry-run` prints",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    text = "write the best gpt-oss-120b endpoint into a coding tool's config, safely"
    parser = a.add_command(
        sub,
        "export",
        text,
        EXAMPLES,
        [a.common()],
        description=text + ".\nOnly our own entry and the selected model change; the file is "
        "written atomically\nafter a timestamped backup beside it, and --undo puts it back.",
    )
    parser.add_argument(
        "tool", metavar="TOOL", nargs="?", help="the coding tool (listed below; see --list)"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list every tool: the file written, whether it is installed, its API via the router",
    )
    parser.add_argument(
        "--endpoint", metavar="ID", help="endpoint id from the catalogue (default: the best ranked)"
    )
    parser.add_argument(
        "--config", metavar="PATH", help="the tool's config file (default: its usual place)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    parser.add_argument(
        "--include-key",
        action="store_true",
        help="write the key itself instead of an env reference (the file gets mode 0600)",
    )
    parser.add_argument(
        "--force", action="store_true", help="export even an endpoint that is down or has no key"
    )
    parser.add_argument(
        "--undo", action="store_true", help="put back the file as it was before our last export"
    )
    parser.add_argument(
        "--window",
        type=a.window,
        default="1h",
        help="ranking window: 15m, 1h, 24h, 7d or e.g. 3d (default: %(default)s)",
    )
    parser.add_argument(
        "--via-router",
        nargs="?",
        const=DEFAULT_URL,
        metavar="URL",
        help=f"write the local router's URL (default {DEFAULT_URL}) instead of one endpoint; "
        f"its token is read from {TOKEN_ENV} when set (all but the import files)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.catalog import CatalogError
    from monitor.export import TOOLS, ExportError, apply_export, plan_export, undo_export
    from monitor.store import StoreError

    if args.list:
        if args.tool:
            raise UsageError("--list takes no TOOL; run `oss-monitor export --list` alone")
        _print_list()
        return EXIT_OK
    if args.tool is None:
        raise UsageError("name a TOOL to export to; `oss-monitor export --list` shows them")
    if args.tool in UNSUPPORTED:
        raise UsageError(f"{UNSUPPORTED[args.tool]}.")
    if args.tool not in TOOLS:
        close = difflib.get_close_matches(args.tool, list(TOOLS), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"unknown tool {args.tool!r}; {hint}pick one of {', '.join(TOOLS)}")

    config = Path(args.config) if args.config else None
    try:
        if args.undo:
            print(undo_export(args.tool, config=config).message)
            return EXIT_OK
        if args.via_router and args.endpoint:
            raise ExportError("--via-router and --endpoint exclude each other; pick one")
        endpoint = None
        if not args.via_router:
            endpoint, refusal = _choose(args)
            if refusal:
                print(f"oss-monitor: {refusal}", file=sys.stderr)
                return EXIT_UNHEALTHY
        plan = plan_export(
            args.tool,
            endpoint,
            config=config,
            include_key=args.include_key,
            router_url=args.via_router,
        )
        if args.via_router:  # after planning, which refuses a URL that is not one
            print(f"Exporting the router at {args.via_router}: the tool follows the ranking.")
        if args.dry_run:
            used = endpoint.id if endpoint else "the router"
            print(plan.diff or f"{plan.path} already uses {used}; nothing would change.")
            result_message = "Dry run: nothing was written." if plan.changed else ""
        else:
            result_message = apply_export(plan).message
        for line in [*plan.notes, result_message]:
            if line:
                print(line)
        return EXIT_OK
    except (ExportError, CatalogError, StoreError) as exc:
        print(f"oss-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _print_list() -> None:
    from monitor.export.listing import targets

    rows = [("TOOL", "WRITES", "INSTALLED HERE", "API VIA ROUTER")]
    for t in targets():
        rows.append((t.tool, str(t.path), t.found or "not found", t.router_api))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        print("  ".join([*cells, row[3]]))


def _choose(args: argparse.Namespace) -> tuple[Endpoint, str]:
    """The endpoint to export and, if it should be refused without --force, why."""
    from monitor.catalog import load_catalog, resolve
    from monitor.core.models import ANSWERING, UNUSABLE
    from monitor.export import ExportError
    from monitor.ranking import compute
    from monitor.report import standings
    from monitor.store import Store, StoreError

    catalog = load_catalog(args.providers)
    try:
        stats = standings(catalog.enabled(), Store(args.db, create=False), os.environ, args.window)
    except StoreError:
        if not args.endpoint:  # choosing the best needs probes
            raise
        # A named endpoint needs no store: it is exported as "not probed yet".
        missing = {e.id: resolve(e, os.environ).missing for e in catalog.enabled()}
        stats = compute(catalog.enabled(), [], missing)
    if args.endpoint:
        try:
            endpoint = catalog.get(args.endpoint)
        except KeyError as exc:
            raise ExportError(str(exc.args[0])) from None
        chosen = next((s for s in stats if s.id == endpoint.id), None)
        if chosen is None:
            return endpoint, _unless_forced(args, f"{endpoint.id} is disabled in the catalogue")
        print(f"Exporting {endpoint.id} ({endpoint.name}): {chosen.why}.")
    else:
        chosen = next((s for s in stats if s.state in ANSWERING), None)
        if chosen is None:
            raise ExportError(
                f"no endpoint has usable probes in the last {args.window}; run "
                "`oss-monitor probe --once` first or name one with --endpoint"
            )
        endpoint = chosen.endpoint
        print(f"Exporting {endpoint.id} ({endpoint.name}), best over {args.window}: {chosen.why}.")
    if chosen.state in UNUSABLE:
        return endpoint, _unless_forced(args, f"{endpoint.id} cannot be used now ({chosen.why})")
    return endpoint, ""


def _unless_forced(args: argparse.Namespace, why: str) -> str:
    return "" if args.force else f"{why}; pick another with --endpoint, or pass --force"
