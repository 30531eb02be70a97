"""`oss-monitor probe`: one round with --once (cron), else probing continuously."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from monitor.cli import args as a
from monitor.cli.args import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNHEALTHY, UsageError
from monitor.cli.load import load_catalog_from, open_store, select, settings_from, standings
from monitor.cli.output import console, outcome_line, print_rank, summary_line
from monitor.cli.round import show_round
from monitor.cli.startup import started
from monitor.core.format import markup
from monitor.core.hysteresis import DOWN_AFTER, UP_AFTER

if TYPE_CHECKING:
    from monitor.catalog import Endpoint
    from monitor.core.models import ProbeSettings, Sample
    from monitor.scheduler import Outcome, ScheduleSettings
    from monitor.store import Store


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "probe",
        "probe endpoints: one round with --once (cron), else continuously",
        "  oss-monitor probe --once\n"
        "  oss-monitor probe --once --only groq cerebras --json\n"
        "  oss-monitor probe --once --providers my.yaml --db sqlite:///x.db\n"
        "  oss-monitor probe --once --quality      is the answer right? one check per endpoint\n"
        "  oss-monitor probe --interval 120 --quality-every 5\n"
        "  oss-monitor probe --once --alert-webhook https://hooks.example/oss --down-after 3\n\n"
        "crontab, every 10 minutes:\n"
        "  */10 * * * * oss-monitor probe --once --json >> ~/oss-monitor.log 2>&1",
        [a.common(), a.probing()],
    )
    parser.add_argument("--once", action="store_true", help="one round, then exit 0/1")
    parser.add_argument("--only", nargs="+", metavar="ID", help="probe only these endpoint ids")
    parser.add_argument(
        "--json", action="store_true", help="print JSON Lines, one object per probe (see README)"
    )
    parser.add_argument(
        "--tools", action="store_true", help="also run the tool-calling probe (--once)"
    )
    parser.add_argument(
        "--quality", action="store_true",
        help="also check one answer per endpoint (--once); continuously: check answers even "
        "where the budget is tight",
    )  # fmt: skip
    alerts = parser.add_argument_group("alerts (with --once): on transitions only, with hysteresis")
    alerts.add_argument(
        "--alert-command",
        metavar="CMD",
        help="run CMD per alert: JSON on stdin, OSS_MONITOR_EVENT/ENDPOINT/MESSAGE in its env. "
        "CMD is split into words like a shell line but not run by a shell (no pipes, no $VAR): "
        "for those, use sh -c '…'",
    )
    alerts.add_argument("--alert-webhook", metavar="URL", help="POST each alert as JSON to URL")
    alerts.add_argument(
        "--down-after", type=a.positive(int), default=DOWN_AFTER, metavar="N",
        help="failed probes in a row before an endpoint is down (default: %(default)s)",
    )  # fmt: skip
    alerts.add_argument(
        "--up-after", type=a.positive(int), default=UP_AFTER, metavar="M",
        help="ok probes in a row before it has recovered (default: %(default)s)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import anyio

    catalog = load_catalog_from(args)
    endpoints = select(catalog, args.only)
    if not endpoints:
        raise UsageError("no enabled endpoint in the catalogue; enable one in providers.yaml")
    store = open_store(args)
    probe_settings, schedule = settings_from(args)
    if not args.once:
        return probe_forever(endpoints, store, probe_settings, schedule, dict(os.environ))
    from monitor.core.models import ProbeKind
    from monitor.scheduler import open_scheduler

    kinds = [ProbeKind.CHAT, *([ProbeKind.TOOLS] if args.tools else [])]
    kinds += [ProbeKind.QUALITY] if args.quality else []

    def run_round(on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        async def run() -> list[Outcome]:
            env = dict(os.environ)
            async with open_scheduler(endpoints, store, env, probe_settings, schedule) as sched:
                return await sched.round(kinds, on_outcome)

        return anyio.run(run)

    outcomes, interrupted = show_round(endpoints, run_round, args.json)
    if interrupted:
        return EXIT_INTERRUPTED
    if args.alert_command or args.alert_webhook:
        send_alerts(args, endpoints, store)
    healthy = any(o.result is not None and o.result.ok for o in outcomes)
    return EXIT_OK if healthy else EXIT_UNHEALTHY


def send_alerts(args: argparse.Namespace, endpoints: Sequence[Endpoint], store: Store) -> None:
    """Compare with what was last alerted (kept in the store) and send the transitions."""
    from datetime import UTC, datetime, timedelta

    from monitor.alerts import deliver, transitions

    recent: dict[str, list[Sample]] = {}
    since, in_a_row = datetime.now(UTC) - timedelta(days=1), max(args.down_after, args.up_after)
    for sample in store.in_a_row(since, [e.id for e in endpoints], in_a_row):
        recent.setdefault(sample.endpoint_id, []).append(sample)
    stats = standings(endpoints, store, os.environ, "1h")
    remembered = store.remembered("alert")
    alerts, memory = transitions(stats, recent, remembered, args.down_after, args.up_after)
    store.remember("alert", memory)
    for alert in alerts:
        print(f"alert: {alert.event} {alert.endpoint}: {alert.message}", file=sys.stderr)
    for problem in deliver(alerts, args.alert_command, args.alert_webhook):
        print(f"oss-monitor: {problem}", file=sys.stderr)


def probe_forever(
    endpoints: list[Endpoint],
    store: Store,
    probe_settings: ProbeSettings,
    schedule: ScheduleSettings,
    env: dict[str, str],
    seconds: float | None = None,
    simulated: bool = False,
) -> int:
    """Probe continuously with a live log and a summary line a minute; Ctrl-C stops.

    With `seconds`, stop after that long and print the ranking table.
    """
    import math

    import anyio

    from monitor.core.format import duration, plural
    from monitor.scheduler import Event, Outcome, ProbeLanded, ProbeSkipped, open_scheduler

    started()
    screen = console()
    note = " SIMULATED data from the local fleet;" if simulated else ""
    screen.print(
        f"probing {plural(len(endpoints), 'endpoint')} every ≥{duration(schedule.interval_s)} "
        f"(budget {schedule.budget_fraction:.0%} of each quota), storing in {store.display};"
        f"{note} Ctrl-C stops"
    )

    def show(event: Event) -> None:
        if isinstance(event, ProbeLanded):
            screen.print(outcome_line(Outcome(event.result.endpoint_id, result=event.result)))
        elif isinstance(event, ProbeSkipped):
            screen.print(f"[dim]skipped {event.endpoint_id}: {markup(event.reason)}[/]")

    async def summarise() -> None:
        every = max(30.0, schedule.interval_s)
        while True:
            await anyio.sleep(every)
            stats = await anyio.to_thread.run_sync(standings, endpoints, store, env, "15m")
            screen.print(f"[bold]{markup(summary_line(stats))}[/]")

    async def run() -> None:
        with anyio.move_on_after(seconds if seconds else math.inf):
            async with (
                open_scheduler(endpoints, store, env, probe_settings, schedule, show) as sched,
                anyio.create_task_group() as group,
            ):
                group.start_soon(summarise)
                await sched.run()

    anyio.run(run)
    if seconds:
        label = f"the last {duration(seconds)}" + (" (SIMULATED data)" if simulated else "")
        print_rank(standings(endpoints, store, env, "15m"), label)
    return EXIT_OK
