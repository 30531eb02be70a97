"""`oss-monitor providers`: the catalogue, which keys are set, quotas and prices."""

from __future__ import annotations

import argparse
import os
from typing import Any

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK
from monitor.cli.load import load_catalog_from
from monitor.cli.output import PER, console, json_line
from monitor.cli.tables import Column, fitted
from monitor.core import format as fmt
from monitor.core.format import plural

COLUMNS = (
    Column("id"),
    Column("key"),
    Column("on", 1),
    Column("free", 2),
    Column("$/M in/out", 3),
    Column("quota", 4),
    Column("probe budget", 5),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "providers",
        "list the catalogue: endpoints, keys present or missing, quotas, prices",
        "  oss-monitor providers\n  oss-monitor providers --check --providers my.yaml",
        [a.common()],
    )
    parser.add_argument("--check", action="store_true", help="only validate the catalogue")
    parser.add_argument(
        "--json", action="store_true", help="print JSON Lines, one object per endpoint"
    )


def run(args: argparse.Namespace) -> int:
    from monitor.catalog import catalog_paths, resolve
    from monitor.scheduler import budget_limits

    catalog = load_catalog_from(args)
    paths = catalog_paths(args.providers, os.environ)
    enabled = len(catalog.enabled())
    if args.check:
        files = " + ".join(str(p) for p in paths)
        print(f"{files}: OK, {plural(len(catalog.providers), 'endpoint')} ({enabled:,} enabled)")
        return EXIT_OK
    rows: list[dict[str, Any]] = []
    for e in catalog.providers:
        creds = resolve(e, os.environ)
        budget = " ".join(f"{n}/{PER[w]}" for w, n in budget_limits(e, 0.05))
        rows.append(
            {
                "id": e.id,
                "name": e.name,
                "enabled": e.enabled,
                "key": "not needed" if e.keyless and not creds.missing else
                       ("no key: set " + " ".join(creds.missing) if creds.missing else "set"),
                "key_env": e.api_key_env,
                "dialect": e.dialect,
                "free": e.free,
                "price": e.price.model_dump() if e.price else None,
                "quota": e.quota.model_dump(exclude_none=True) if e.quota else None,
                "probe_budget": budget,
                "base_url": e.base_url,
                "model": e.model,
                "retired": e.retirement(),
            }
        )  # fmt: skip
    if args.json:
        for row in rows:
            print(json_line("provider", row))
        return EXIT_OK
    table = [
        [
            row["id"], row["key"], "yes" if row["enabled"] else "no", "yes" if row["free"] else "",
            fmt.price(e), " ".join(f"{v:,}/{PER[k]}" for k, v in (row["quota"] or {}).items()),
            row["probe_budget"],
        ]
        for row, e in zip(rows, catalog.providers, strict=True)
    ]  # fmt: skip
    styles = [None if row["enabled"] else "dim" for row in rows]
    title = (
        f"{plural(len(rows), 'endpoint')} ({enabled:,} enabled) from {', '.join(map(str, paths))}"
    )
    screen = console()
    screen.print(fitted(title, COLUMNS, table, screen.width, styles))
    return EXIT_OK
