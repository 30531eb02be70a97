"""`oss-monitor demo`: the dashboard on a simulated fleet on 127.0.0.1 (no key, no network)."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.cli import args as a
from monitor.cli.args import UsageError
from monitor.cli.load import load_profile_from, settings_from
from monitor.cli.startup import started

# A lively demo: probe often and let probes use half of each simulated quota.
DEMO_DEFAULTS: dict[str, float] = {"interval": 5, "budget": 0.5, "concurrency": 256, "timeout": 8}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "demo",
        "the dashboard on a simulated provider fleet on 127.0.0.1 (no key, no network)",
        "  oss-monitor demo\n  oss-monitor demo --headless --seconds 20\n"
        "  oss-monitor demo --db sqlite:///demo.db      keep the simulated probes afterwards",
        [
            a.common(False, "keep the simulated probes in this store (default: a temporary one)"),
            a.probing(DEMO_DEFAULTS),
        ],
        description="the dashboard on a simulated provider fleet on 127.0.0.1 (no key, no "
        "network).\nIts catalogue and store live in a temporary folder, removed when it stops.",
    )
    # Refused with a pointer to the dashboard, but not offered in --help.
    parser.add_argument("--providers", help=argparse.SUPPRESS)
    parser.add_argument(
        "--headless", action="store_true", help="print probe lines instead of the dashboard"
    )
    parser.add_argument(
        "--seconds",
        type=a.seconds,
        metavar="S",
        help="stop after this long, e.g. 20 or 2m (headless; default: until Ctrl-C)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="fleet profile instead of the built-in data/fleet.yaml"
    )


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from monitor.catalog import load_catalog
    from monitor.cli.commands.dashboard import need_terminal
    from monitor.cli.commands.probe import probe_forever
    from monitor.sim.fleet import FleetServer, catalogue_yaml
    from monitor.store import Store

    if args.providers:
        raise UsageError(
            "demo probes its own simulated catalogue; for your providers run "
            f"`oss-monitor dashboard --providers {args.providers}`"
        )
    if not args.headless:
        need_terminal("`oss-monitor demo --headless`")
    profile = load_profile_from(args.profile)
    # Checking answers costs nothing here: often enough to judge them within minutes.
    args.quality_every = 2 if args.quality_every is None else args.quality_every
    probe_settings, schedule = settings_from(args)
    with (
        stopped_by_signals(),
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

        started()
        return run_dashboard(
            catalog, store, env, probe_settings, schedule, probing=True, simulated=True
        )


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the demo like Ctrl-C, so its temporary folder is removed."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signals = (signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.signal(s, interrupt) for s in signals}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
