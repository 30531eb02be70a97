"""`oss-monitor demo`: the dashboard on a simulated fleet on 127.0.0.1 (no key, no network)."""

from __future__ import annotations

import argparse
import os

from monitor.cli import args as a
from monitor.cli.args import UsageError
from monitor.cli.load import settings_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "demo",
        "the dashboard on a simulated provider fleet on 127.0.0.1 (no key, no network)",
        "  oss-monitor demo\n  oss-monitor demo --headless --seconds 20\n"
        "  oss-monitor demo --db sqlite:///demo.db      keep the simulated probes afterwards",
        [a.common(), a.probing()],
    )
    parser.add_argument(
        "--headless", action="store_true", help="print probe lines instead of the dashboard"
    )
    parser.add_argument(
        "--seconds", type=a.positive(float), help="stop after this many seconds (headless)"
    )
    parser.add_argument("--profile", metavar="FILE", help="fleet profile instead of the built-in")


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from monitor.catalog import load_catalog
    from monitor.cli.commands.probe import probe_forever
    from monitor.sim.fleet import FleetServer, catalogue_yaml, load_profile
    from monitor.store import Store

    if args.providers:
        raise UsageError(
            "demo probes its own simulated catalogue; for your providers run "
            f"`oss-monitor dashboard --providers {args.providers}`"
        )
    profile = load_profile(args.profile)
    # A lively demo: probe often and let probes use half of each simulated quota.
    args.interval = args.interval or 5.0
    args.budget = args.budget or 0.5
    args.timeout = args.timeout or 8.0
    # Checking answers costs nothing here: often enough to judge them within minutes.
    args.quality_every = 2 if args.quality_every is None else args.quality_every
    probe_settings, schedule = settings_from(args)
    with (
        tempfile.TemporaryDirectory(prefix="oss-monitor-demo-") as tmp,
        FleetServer(profile) as server,
    ):
        catalogue = Path(tmp, "providers.yaml")
        catalogue.write_text(catalogue_yaml(profile, server.base_url))
        catalog = load_catalog(str(catalogue))
        # Simulated probes never land in the user's real store unless --db asks for it.
        store = Store(args.db or f"sqlite:///{Path(tmp, 'demo.db')}")
        env = {**os.environ, **server.env()}
        if args.headless:
            return probe_forever(
                catalog.enabled(), store, probe_settings, schedule, env, args.seconds, True
            )
        from monitor.tui.app import run_dashboard

        return run_dashboard(
            catalog, store, env, probe_settings, schedule, probing=True, simulated=True
        )
