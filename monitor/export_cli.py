"""`oss-monitor export TOOL`: write the best (or a named) endpoint into a coding tool's config.

Light at import time like monitor.cli: the export package, the store and ranking are imported
inside `cmd_export`. Exit codes: 0 done, 1 refused (endpoint down or without key, no --force),
2 bad input or a config file we cannot use.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from monitor.router_cli import DEFAULT_URL, TOKEN_ENV

if TYPE_CHECKING:
    from monitor.catalog import Endpoint

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
TOOL_IDS = ("opencode", "kilo", "kilo-legacy", "crush", "continue", "aider", "codex", "qwen")

EXAMPLES = """examples:
  oss-monitor export opencode --dry-run        show the diff for the best endpoint, write nothing
  oss-monitor export opencode                  write it (a backup is kept beside the file)
  oss-monitor export crush --endpoint groq     a named endpoint instead of the best
  oss-monitor export kilo-legacy --include-key an import file with the literal key (mode 0600)
  oss-monitor export opencode --undo           put back the file as it was before
  oss-monitor export opencode --via-router     follow the ranking on every request through
                                               `oss-monitor router` (all but codex,
                                               crush and kilo-legacy)

tools: opencode, kilo (Kilo Code 7.x), kilo-legacy (Kilo Code legacy / Roo Code import file),
       crush, continue, aider, codex (only endpoints serving the Responses API),
       qwen (Qwen Code)"""


def window_arg(text: str) -> str:
    from monitor.cli import window_arg as check  # one definition; imported late (cli imports us)

    return check(text)


def add_export_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    text = "write the best gpt-oss-120b endpoint into a coding tool's config, safely"
    parser = sub.add_parser(
        "export",
        help=text,
        description=text + ".\nOnly our own entry and the selected model change; the file is "
        "written atomically\nafter a timestamped backup beside it, and --undo puts it back.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("tool", choices=TOOL_IDS, metavar="TOOL", help=", ".join(TOOL_IDS))
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
        "--window", type=window_arg, default="1h", help="ranking window: 15m, 1h, 24h, 7d"
    )
    parser.add_argument(
        "--via-router",
        nargs="?",
        const=DEFAULT_URL,
        metavar="URL",
        help=f"write the local router's URL (default {DEFAULT_URL}) instead of one endpoint; "
        f"its token is read from {TOKEN_ENV} when set (opencode, kilo, continue, aider, qwen)",
    )


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.catalog import CatalogError
    from monitor.export import ExportError, apply_export, plan_export, undo_export
    from monitor.store import StoreError

    config = Path(args.config) if args.config else None
    try:
        if args.undo:
            print(undo_export(args.tool, config=config).message)
            return EXIT_OK
        if args.via_router and args.endpoint:
            raise ExportError("--via-router and --endpoint exclude each other; pick one")
        endpoint = None
        if args.via_router:
            print(f"Exporting the router at {args.via_router}: the tool follows the ranking.")
        else:
            endpoint, refusal = _choose(args)
            if refusal:
                print(f"oss-monitor: {refusal}", file=sys.stderr)
                return EXIT_REFUSED
        plan = plan_export(
            args.tool,
            endpoint,
            config=config,
            include_key=args.include_key,
            router_url=args.via_router,
        )
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


def _choose(args: argparse.Namespace) -> tuple[Endpoint, str]:
    """The endpoint to export and, if it should be refused without --force, why."""
    from monitor.catalog import load_catalog
    from monitor.export import ExportError
    from monitor.ranking import State
    from monitor.report import standings
    from monitor.store import Store

    catalog = load_catalog(args.providers)
    stats = standings(catalog.enabled(), Store(args.db), os.environ, args.window)
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
        chosen = next((s for s in stats if s.state in (State.UP, State.DEGRADED)), None)
        if chosen is None:
            raise ExportError(
                f"no endpoint has usable probes in the last {args.window}; run "
                "`oss-monitor probe --once` first or name one with --endpoint"
            )
        endpoint = chosen.endpoint
        print(f"Exporting {endpoint.id} ({endpoint.name}), best over {args.window}: {chosen.why}.")
    if chosen.state in (State.DOWN, State.NO_KEY, State.AUTH):
        return endpoint, _unless_forced(args, f"{endpoint.id} cannot be used now ({chosen.why})")
    return endpoint, ""


def _unless_forced(args: argparse.Namespace, why: str) -> str:
    return "" if args.force else f"{why}; pick another with --endpoint, or pass --force"
