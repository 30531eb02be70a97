"""`oss-monitor providers`: the catalogue, which keys are set, quotas and prices."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK
from monitor.cli.load import load_catalog_from
from monitor.cli.output import PER, console


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "providers",
        "list the catalogue: endpoints, keys present or missing, quotas, prices",
        "  oss-monitor providers\n  oss-monitor providers --check --providers my.yaml",
        [a.common()],
    )
    parser.add_argument("--check", action="store_true", help="only validate the catalogue")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from monitor.catalog import catalog_paths, resolve
    from monitor.scheduler import budget_limits

    catalog = load_catalog_from(args)
    paths = catalog_paths(args.providers, os.environ)
    enabled = len(catalog.enabled())
    if args.check:
        files = " + ".join(str(p) for p in paths)
        print(f"{files}: OK, {len(catalog.providers)} endpoints ({enabled} enabled)")
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
                       ("missing: " + " ".join(creds.missing) if creds.missing else "set"),
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
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} endpoints ({enabled} enabled) from {', '.join(map(str, paths))}",
        title_justify="left",
    )
    for name in ("id", "on", "key", "free", "$ in/out per 1M", "quota", "probe budget"):
        table.add_column(name, no_wrap=name in ("id", "key"))
    for row in rows:
        price = row["price"]
        quota = row["quota"]
        table.add_row(
            row["id"],
            "yes" if row["enabled"] else "no",
            row["key"],
            "yes" if row["free"] else "",
            f"{price['input']:g} / {price['output']:g}" if price else "",
            " ".join(f"{v}/{PER[k]}" for k, v in quota.items()) if quota else "",
            row["probe_budget"],
            style=None if row["enabled"] else "dim",
        )
    console().print(table)
    return EXIT_OK
