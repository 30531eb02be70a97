"""The command line: subcommands, exit codes and output formats.

Kept light at import time (argparse only): every heavy module (textual, sqlmodel, httpx) is
imported inside the command that needs it, so `oss-monitor --help` starts fast.
Exit codes: 0 = at least one endpoint healthy (or the command succeeded), 1 = none healthy,
2 = bad configuration or usage, 130 = interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.catalog import Catalog, Endpoint
    from monitor.probe import ProbeSettings, Sample
    from monitor.ranking import EndpointStats
    from monitor.scheduler import Outcome, ScheduleSettings
    from monitor.store import Store

from monitor import cli_catalog
from monitor.export_cli import add_export_parser, cmd_export
from monitor.router_cli import add_router_parser, cmd_router

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PER: dict[str | int, str] = {
    "rpm": "min",
    "rph": "h",
    "rpd": "day",
    60: "min",
    3600: "h",
    86400: "day",
}


class UsageError(Exception):
    """Bad input from the user: one sentence, exit status 2."""


# ---------------------------------------------------------------- argument parsing


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
        return value

    return parse


def _fraction(text: str) -> float:
    value = _positive(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction between 0 and 1")
    return float(value)


def window_arg(text: str) -> str:
    """An argparse type: a window like 15m, 1h, 24h, 7d, refused at parse time otherwise."""
    from monitor.ranking import parse_window

    try:
        parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _label(text: str) -> str:
    if not 0 < len(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 to 64 characters")
    return text


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("where things are")
    group.add_argument(
        "--providers",
        metavar="FILE",
        help="catalogue to use instead of the default + user providers.yaml "
        "(env OSS_MONITOR_PROVIDERS)",
    )
    group.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the store, e.g. sqlite:///probes.db (env OSS_MONITOR_DB; "
        "default: probes.db in the user data folder)",
    )
    return common


def _probing() -> argparse.ArgumentParser:
    probing = argparse.ArgumentParser(add_help=False)
    group = probing.add_argument_group("probing")
    group.add_argument(
        "--interval", type=_positive(float), metavar="S", help="base seconds between probes"
    )
    group.add_argument(
        "--budget",
        type=_fraction,
        metavar="F",
        help="fraction of each provider's quota probes may spend (default 0.05)",
    )
    group.add_argument(
        "--concurrency", type=_positive(int), metavar="N", help="probes in flight at most"
    )
    group.add_argument(
        "--timeout", type=_positive(float), metavar="S", help="total seconds one probe may take"
    )
    group.add_argument(
        "--prober", type=_label, metavar="NAME", help="label stored with each probe (host name)"
    )
    group.add_argument(
        "--region", type=_label, metavar="NAME", help="where this prober stands, e.g. eu-west"
    )
    return probing


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    common, probing = _common(), _probing()
    parser = argparse.ArgumentParser(
        prog="oss-monitor",
        formatter_class=_Formatter,
        description="Find the fastest, most reliable endpoint serving gpt-oss-120b, right now.",
        epilog="examples:\n"
        "  oss-monitor demo                    the dashboard on a simulated fleet (no key needed)\n"
        "  oss-monitor                         the live dashboard on your providers\n"
        "  oss-monitor probe --once            one probe round, a table, an exit code (cron)\n"
        "  oss-monitor rank --window 24h       best endpoints over the last day\n"
        "  oss-monitor providers               the catalogue and which keys are set\n\n"
        "exit codes: 0 healthy endpoint found / success, 1 none healthy, 2 bad config or usage",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str, examples: str, parents: list[argparse.ArgumentParser]) -> Any:
        return sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog="examples:\n" + examples,
            formatter_class=_Formatter,
            parents=parents,
        )

    dash = add(
        "dashboard",
        "the live dashboard (the default command)",
        "  oss-monitor dashboard\n  oss-monitor dashboard --no-probe --db postgresql+psycopg://…",
        [common, probing],
    )
    dash.add_argument(
        "--no-probe", action="store_true", help="only show what other processes store"
    )
    dash.add_argument(
        "--only-prober", type=_label, metavar="NAME", help="show only what prober NAME measured"
    )
    dash.add_argument(
        "--window", type=window_arg, default="1h", help="stats window: 15m, 1h, 24h, 7d"
    )

    demo = add(
        "demo",
        "the dashboard on a simulated provider fleet on 127.0.0.1 (no key, no network)",
        "  oss-monitor demo\n  oss-monitor demo --headless --seconds 20\n"
        "  oss-monitor demo --db sqlite:///demo.db      keep the simulated probes afterwards",
        [common, probing],
    )
    demo.add_argument(
        "--headless", action="store_true", help="print probe lines instead of the dashboard"
    )
    demo.add_argument(
        "--seconds", type=_positive(float), help="stop after this many seconds (headless)"
    )
    demo.add_argument("--profile", metavar="FILE", help="fleet profile instead of the built-in")

    probe = add(
        "probe",
        "probe endpoints: one round with --once (cron), else continuously",
        "  oss-monitor probe --once\n"
        "  oss-monitor probe --once --only groq cerebras --json\n"
        "  oss-monitor probe --once --providers my.yaml --db sqlite:///x.db\n"
        "  oss-monitor probe --interval 120\n"
        "  oss-monitor probe --once --alert-webhook https://hooks.example/oss --down-after 3\n\n"
        "crontab, every 10 minutes:\n"
        "  */10 * * * * oss-monitor probe --once --json >> ~/oss-monitor.log 2>&1",
        [common, probing],
    )
    probe.add_argument("--once", action="store_true", help="one round, then exit 0/1")
    probe.add_argument("--only", nargs="+", metavar="ID", help="probe only these endpoint ids")
    probe.add_argument("--json", action="store_true", help="print JSON instead of a table")
    probe.add_argument(
        "--tools", action="store_true", help="also run the tool-calling probe (--once)"
    )
    alerts = probe.add_argument_group("alerts (with --once): on transitions only, with hysteresis")
    alerts.add_argument(
        "--alert-command",
        metavar="CMD",
        help="run CMD per alert: JSON on stdin, OSS_MONITOR_EVENT/ENDPOINT/MESSAGE in its env",
    )
    alerts.add_argument("--alert-webhook", metavar="URL", help="POST each alert as JSON to URL")
    alerts.add_argument(
        "--down-after", type=_positive(int), default=3, metavar="N",
        help="failed probes in a row before an endpoint is down (default 3)",
    )  # fmt: skip
    alerts.add_argument(
        "--up-after", type=_positive(int), default=2, metavar="M",
        help="ok probes in a row before it has recovered (default 2)",
    )  # fmt: skip

    rank = add(
        "rank",
        "rank endpoints from the stored probes, best first",
        "  oss-monitor rank\n  oss-monitor rank --window 24h --json\n"
        "  oss-monitor rank --by-prober --db postgresql+psycopg://monitor@db/monitor",
        [common],
    )
    rank.add_argument(
        "--window", type=window_arg, default="1h", help="15m, 1h, 24h, 7d, or e.g. 30m, 3d"
    )
    rank.add_argument("--json", action="store_true", help="print JSON instead of a table")
    who = rank.add_mutually_exclusive_group()
    who.add_argument("--prober", type=_label, metavar="NAME", help="only what NAME measured")
    who.add_argument(
        "--by-prober", action="store_true", help="compare probers: one row per endpoint and prober"
    )

    providers = add(
        "providers",
        "list the catalogue: endpoints, keys present or missing, quotas, prices",
        "  oss-monitor providers\n  oss-monitor providers --check --providers my.yaml",
        [common],
    )
    providers.add_argument("--check", action="store_true", help="only validate the catalogue")
    providers.add_argument("--json", action="store_true", help="print JSON instead of a table")

    prune = add(
        "prune",
        "delete raw probes older than a duration (hourly rollups are kept)",
        "  oss-monitor prune --older-than 30d",
        [common],
    )
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h")

    fleet = add(
        "fleet",
        "run the simulated provider fleet alone on 127.0.0.1",
        "  oss-monitor fleet --port 9100 --write-providers sim.yaml\n"
        "  OSS_FLEET_KEY=sim-demo-key-0000 oss-monitor probe --once --providers sim.yaml",
        [],
    )
    fleet.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    fleet.add_argument("--write-providers", metavar="FILE", help="write a catalogue for it")
    fleet.add_argument("--profile", metavar="FILE", help="fleet profile instead of the built-in")
    metrics = add(
        "metrics",
        "serve Prometheus metrics read from the store (/metrics)",
        "  oss-monitor metrics --port 9464\n"
        "  oss-monitor metrics --host 0.0.0.0 --db postgresql+psycopg://monitor@db/monitor",
        [common],
    )
    metrics.add_argument("--port", type=int, default=9464, help="port (default 9464)")
    metrics.add_argument(
        "--host", default="127.0.0.1", help="address to bind (0.0.0.0 for a remote Prometheus)"
    )
    metrics.add_argument(
        "--window", type=window_arg, default="15m", help="stats window: 15m, 1h, 24h, 7d"
    )
    add_export_parser(sub, common)
    add_router_parser(sub, common)
    cli_catalog.add_parser(sub, common)
    return parser


# ---------------------------------------------------------------- helpers


def _catalog(args: argparse.Namespace) -> Catalog:
    from monitor.catalog import load_catalog

    return load_catalog(args.providers)


def _store(args: argparse.Namespace) -> Store:
    from monitor.store import Store

    return Store(args.db)


def _settings(args: argparse.Namespace) -> tuple[ProbeSettings, ScheduleSettings]:
    from monitor.probe import ProbeSettings
    from monitor.scheduler import ScheduleSettings

    probe_settings = ProbeSettings()
    if getattr(args, "timeout", None):
        probe_settings = ProbeSettings(
            total_s=args.timeout,
            first_token_s=min(probe_settings.first_token_s, args.timeout),
            connect_s=min(probe_settings.connect_s, args.timeout),
        )
    overrides = {
        "interval_s": getattr(args, "interval", None),
        "budget_fraction": getattr(args, "budget", None),
        "concurrency": getattr(args, "concurrency", None),
        "prober": getattr(args, "prober", None),
        "region": getattr(args, "region", None),
    }
    schedule = ScheduleSettings(**{k: v for k, v in overrides.items() if v is not None})
    return probe_settings, schedule


def _select(catalog: Catalog, only: Sequence[str] | None) -> list[Endpoint]:
    if not only:
        return catalog.enabled()
    known = {e.id: e for e in catalog.providers}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise UsageError(
            f"unknown endpoint id {', '.join(unknown)}; `oss-monitor providers` lists them"
        )
    return [known[i] for i in only]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _console() -> Any:
    from rich.console import Console

    # Piped into a log (cron): do not squeeze tables into 80 columns.
    width = None if sys.stdout.isatty() else 200
    return Console(highlight=False, width=width)


# ---------------------------------------------------------------- commands


def cmd_probe(args: argparse.Namespace) -> int:
    import anyio

    catalog = _catalog(args)
    endpoints = _select(catalog, args.only)
    if not endpoints:
        raise UsageError("no enabled endpoint in the catalogue; enable one in providers.yaml")
    store = _store(args)
    probe_settings, schedule = _settings(args)
    if not args.once:
        return _probe_forever(endpoints, store, probe_settings, schedule, dict(os.environ))
    from monitor.probe import ProbeKind
    from monitor.scheduler import open_scheduler

    kinds = (ProbeKind.CHAT, ProbeKind.TOOLS) if args.tools else (ProbeKind.CHAT,)

    async def run() -> list[Outcome]:
        env = dict(os.environ)
        async with open_scheduler(endpoints, store, env, probe_settings, schedule) as scheduler:
            return await scheduler.round(kinds)

    outcomes = anyio.run(run)
    healthy = {o.endpoint_id for o in outcomes if o.result is not None and o.result.ok}
    if args.json:
        print(json.dumps([_outcome_json(o) for o in outcomes], indent=2))
    else:
        _print_round(outcomes)
    if args.alert_command or args.alert_webhook:
        _alert(args, endpoints, store)
    return EXIT_OK if healthy else EXIT_UNHEALTHY


def _alert(args: argparse.Namespace, endpoints: Sequence[Endpoint], store: Store) -> None:
    """Compare with what was last alerted (kept in the store) and send the transitions."""
    from datetime import UTC, datetime, timedelta

    from monitor.alerts import deliver, transitions

    recent: dict[str, list[Sample]] = {}
    for sample in store.samples(datetime.now(UTC) - timedelta(days=1), [e.id for e in endpoints]):
        recent.setdefault(sample.endpoint_id, []).append(sample)
    stats = standings(endpoints, store, os.environ, "1h")
    remembered = store.remembered("alert")
    alerts, memory = transitions(stats, recent, remembered, args.down_after, args.up_after)
    store.remember("alert", memory)
    for alert in alerts:
        print(f"alert: {alert.event} {alert.endpoint}: {alert.message}", file=sys.stderr)
    for problem in deliver(alerts, args.alert_command, args.alert_webhook):
        print(f"oss-monitor: {problem}", file=sys.stderr)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    result = outcome.result
    if result is None:
        no_key = outcome.skipped.startswith("no key")
        return {
            "id": outcome.endpoint_id,
            "kind": outcome.kind.value,
            "ok": False,
            "status": None,
            "error": "no_key" if no_key else None,
            "skipped": outcome.skipped,
            "message": outcome.skipped,
            "headers_ms": None,
            "ttft_ms": None,
            "total_ms": None,
            "tokens_per_s": None,
            "output_tokens": None,
        }
    data = result.model_dump(mode="json", exclude={"endpoint_id", "rate_limit"})
    return {"id": result.endpoint_id, "skipped": "", **data}


def _print_round(outcomes: Sequence[Outcome]) -> None:
    from rich.table import Table

    table = Table(title="probe round", title_justify="left")
    for name, justify in (
        ("endpoint", "left"),
        ("kind", "left"),
        ("result", "left"),
        ("status", "right"),
        ("TTFT ms", "right"),
        ("total ms", "right"),
        ("tok/s", "right"),
        ("tokens", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("note", overflow="fold", min_width=20)
    counts: dict[str, int] = {}
    for o in outcomes:
        r = o.result
        if r is None:
            label = "no key" if o.skipped.startswith("no key") else "skipped"
            counts[label] = counts.get(label, 0) + 1
            table.add_row(
                o.endpoint_id, o.kind.value, f"[dim]{label}[/]", "", "", "", "", "", o.skipped
            )
            continue
        label = "ok" if r.ok else str(r.error)
        counts["ok" if r.ok else "failed"] = counts.get("ok" if r.ok else "failed", 0) + 1
        style = "green" if r.ok else "red"
        table.add_row(
            r.endpoint_id,
            r.kind.value,
            f"[{style}]{label}[/]",
            str(r.status or "-"),
            _ms(r.ttft_ms),
            _ms(r.total_ms),
            _ms(r.tokens_per_s),
            str(r.output_tokens or "-"),
            r.message,
        )
    console = _console()
    console.print(table)
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    console.print(f"{len(outcomes)} probes: {summary}")
    if counts.get("no key") and not counts.get("ok"):
        console.print(
            "No endpoint answered and keys are missing: set one of the variables named above "
            "(`oss-monitor providers` lists them all), or see it work with `oss-monitor demo`."
        )


def standings(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    window: str,
    prober: str | None = None,
) -> list[EndpointStats]:
    from monitor.report import standings as from_store  # sqlmodel is heavy: import on use

    return from_store(endpoints, store, env, window, prober)


def _summary_line(stats: Sequence[EndpointStats]) -> str:
    from datetime import datetime

    counts: dict[str, int] = {}
    for s in stats:
        label = s.state.value.replace("_", "-")
        counts[label] = counts.get(label, 0) + 1
    states = ", ".join(f"{n} {label}" for label, n in counts.items())
    best = next((s for s in stats if s.rank == 1), None)
    lead = f"best: {best.id} ({best.why})" if best else "no endpoint is usable yet"
    return f"── {datetime.now():%H:%M:%S}  {states} · {lead}"


def _probe_forever(
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

    from monitor.scheduler import Event, ProbeLanded, ProbeSkipped, open_scheduler

    console = _console()
    note = " SIMULATED data from the local fleet;" if simulated else ""
    console.print(
        f"probing {len(endpoints)} endpoints every ≥{schedule.interval_s:g} s "
        f"(budget {schedule.budget_fraction:.0%} of each quota), storing in {store.display};"
        f"{note} Ctrl-C stops"
    )

    def show(event: Event) -> None:
        if isinstance(event, ProbeLanded):
            r = event.result
            if r.ok:
                console.print(
                    f"{r.started_at:%H:%M:%S} [green]ok[/]  {r.endpoint_id:<24} {r.kind.value:<5} "
                    f"TTFT {_ms(r.ttft_ms):>6} ms  total {_ms(r.total_ms):>6} ms  "
                    f"{_ms(r.tokens_per_s):>5} tok/s"
                )
            else:
                console.print(
                    f"{r.started_at:%H:%M:%S} [red]{r.error}[/] {r.endpoint_id:<24} "
                    f"{r.kind.value:<5} {r.message}"
                )
        elif isinstance(event, ProbeSkipped):
            console.print(f"[dim]skip {event.endpoint_id}: {event.reason}[/]")

    async def summarise() -> None:
        every = max(30.0, schedule.interval_s)
        while True:
            await anyio.sleep(every)
            stats = await anyio.to_thread.run_sync(standings, endpoints, store, env, "15m")
            console.print(f"[bold]{_summary_line(stats)}[/]")

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
        label = f"the last {seconds:g} s" + (" (SIMULATED data)" if simulated else "")
        _print_rank(standings(endpoints, store, env, "15m"), label)
    return EXIT_OK


def cmd_rank(args: argparse.Namespace) -> int:
    endpoints = _catalog(args).enabled()
    store = _store(args)
    if args.by_prober:
        return _rank_by_prober(endpoints, store, args)
    stats = standings(endpoints, store, os.environ, args.window, args.prober)
    if args.json:
        print(json.dumps([s.as_json() for s in stats], indent=2))
    else:
        title = args.window + (f" as measured by {args.prober}" if args.prober else "")
        _print_rank(stats, title)
    return EXIT_OK if any(s.state.value in ("up", "degraded") for s in stats) else 1


def _rank_by_prober(endpoints: list[Endpoint], store: Store, args: argparse.Namespace) -> int:
    """One row per endpoint and prober: "Groq is fast from eu-west, slow from us-east"."""
    from datetime import UTC, datetime

    from monitor.ranking import parse_window

    probers = store.probers(datetime.now(UTC) - parse_window(args.window))
    rows = [
        (prober, s)
        for prober in probers
        for s in standings(endpoints, store, os.environ, args.window, prober)
        if s.samples
    ]
    rows.sort(key=lambda row: (row[1].id, row[1].ttft_p50_ms or float("inf")))
    if args.json:
        rows_json = [{"prober": p, "region": probers[p], **s.as_json()} for p, s in rows]
        print(json.dumps(rows_json, indent=2))
        return EXIT_OK if rows else EXIT_UNHEALTHY
    from rich.table import Table

    table = Table(title=f"by prober over {args.window}", title_justify="left")
    left = ("endpoint", "prober", "region", "state")
    for name in (*left, "uptime", "TTFT p50", "p95", "tok/s"):
        table.add_column(name, justify="left" if name in left else "right")
    for prober, s in rows:
        table.add_row(
            s.id, prober, probers[prober] or "", s.state.value.replace("_", "-"), s.uptime_text(),
            _ms(s.ttft_p50_ms), _ms(s.ttft_p95_ms), _ms(s.tokens_per_s),
        )  # fmt: skip
    _console().print(table)
    return EXIT_OK if rows else EXIT_UNHEALTHY


def _print_rank(stats: Sequence[Any], window: str) -> None:
    from rich.table import Table

    table = Table(title=f"ranking over {window}", title_justify="left")
    for name in ("#", "endpoint", "state", "uptime", "TTFT p50", "p95", "total p50", "tok/s"):
        table.add_column(name, justify="left" if name in ("endpoint", "state") else "right")
    table.add_column("why")
    for s in stats:
        table.add_row(
            str(s.rank or "-"),
            s.id,
            s.state.value.replace("_", "-"),
            s.uptime_text() if s.samples else "-",
            _ms(s.ttft_p50_ms),
            _ms(s.ttft_p95_ms),
            _ms(s.total_p50_ms),
            _ms(s.tokens_per_s),
            s.why,
            style=None if s.rank else "dim",
        )
    _console().print(table)


def cmd_providers(args: argparse.Namespace) -> int:
    from monitor.catalog import catalog_paths, resolve
    from monitor.scheduler import budget_limits

    catalog = _catalog(args)
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
    _console().print(table)
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from monitor.ranking import parse_window

    try:
        age = parse_window(args.older_than)
    except ValueError as exc:
        raise UsageError(str(exc).replace("window", "age")) from None
    store = _store(args)
    deleted = store.prune(datetime.now(UTC) - age)
    print(f"deleted {deleted} probes older than {args.older_than} from {store.display}")
    return EXIT_OK


def cmd_fleet(args: argparse.Namespace) -> int:
    from monitor.sim.fleet import load_profile, serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    serve_forever(load_profile(args.profile), args.port, args.write_providers)
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace) -> int:
    from monitor.metrics import serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    catalog = _catalog(args)
    store = _store(args)

    def ready(port: int) -> None:
        print(f"serving Prometheus metrics on http://{args.host}:{port}/metrics "
              f"from {store.display} (window {args.window}); Ctrl-C stops", flush=True)  # fmt: skip

    try:
        serve(catalog.enabled(), store, os.environ, args.host, args.port, args.window, ready)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); pick another --port"
        ) from None
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from monitor.catalog import load_catalog
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
    probe_settings, schedule = _settings(args)
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
            return _probe_forever(
                catalog.enabled(), store, probe_settings, schedule, env, args.seconds, True
            )
        from monitor.tui.app import run_dashboard

        return run_dashboard(
            catalog, store, env, probe_settings, schedule, probing=True, simulated=True
        )


def cmd_dashboard(args: argparse.Namespace) -> int:
    from monitor.tui.app import run_dashboard

    catalog = _catalog(args)
    store = _store(args)
    probe_settings, schedule = _settings(args)
    return run_dashboard(
        catalog,
        store,
        dict(os.environ),
        probe_settings,
        schedule,
        probing=not args.no_probe,
        simulated=False,
        window=args.window,
        only_prober=args.only_prober,
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
    "probe": cmd_probe,
    "rank": cmd_rank,
    "providers": cmd_providers,
    "prune": cmd_prune,
    "fleet": cmd_fleet,
    "export": cmd_export,
    "metrics": cmd_metrics,
    "router": cmd_router,
    "catalog": cli_catalog.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["dashboard", *(argv if argv is not None else sys.argv[1:])])
    from monitor.catalog import CatalogError
    from monitor.store import StoreError

    known = (CatalogError, StoreError, UsageError)
    try:
        return COMMANDS[args.command](args)
    except known as exc:
        print(f"oss-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ExceptionGroup as group:  # raised inside a task group (e.g. a full disk mid-round)
        mine = group.subgroup(known)
        if mine is None:
            raise
        first: BaseException = mine
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        print(f"oss-monitor: {first}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("oss-monitor: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
