"""The dashboard app: it owns the prober and the stats pipeline; screens show them.

Data flows one way: the scheduler (in a process of its own, see prober.py, so UI work never
delays a measurement) stores probes and reports them as `ProbeEvent` messages; a thread worker
reads the store and ranks, shortly after probes land and on a clock tick, but at most once a
second; the result lands in the `snapshot` reactive, which the screens watch. Nothing here
speaks HTTP or touches the database on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerCancelled, WorkerFailed

from monitor.catalog import Catalog, Endpoint, resolve
from monitor.core.format import plural
from monitor.core.models import WINDOWS, ProbeSettings, parse_window
from monitor.core.router_address import ROUTER_CIRCUITS, open_circuits
from monitor.report import Kept, standings
from monitor.scheduler import Event, ProbeLanded, ProbeSkipped, ProbeStarted, ScheduleSettings
from monitor.store import Store
from monitor.tui.exporting import ExportActions
from monitor.tui.messages import Failed, ProbeEvent, Snapshot, StatsReady
from monitor.tui.prober import Prober, open_prober
from monitor.tui.screens.ranking import RankingScreen
from monitor.tui.terminal import hang_up_proof

LANDED_DEBOUNCE_S = 0.25  # a burst of landings costs one recompute
# Landings and clock ticks recompute at most this often: re-ranking 200 endpoints several
# times a second costs a lot of CPU and nobody reads the table faster.
MIN_RECOMPUTE_GAP_S = 1.0
NOT_IN_PALETTE = {"quit", "command_palette", "help_quit"}  # Textual lists these itself
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # quit cleanly, like q (the demo cleans up)


class MonitorApp(ExportActions):
    CSS_PATH = "app.tcss"
    TITLE = "oss-monitor"
    # The footer shows what a newcomer needs first (it fits 80 columns); the rest is in the
    # command palette (Ctrl+P) under its tooltip.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("e", "export_dialog", "export…", tooltip="Export… (pick a tool, see the diff)"),
        Binding("u", "undo_export", "undo", tooltip="Undo the last export"),
        Binding("w", "next_window", "window", tooltip="Next window (15m, 1h, 24h, 7d)"),
        Binding("o", "export('opencode')", "to OpenCode", False, tooltip="Export to OpenCode"),
        Binding("k", "export('kilo')", "to Kilo", False, tooltip="Export to Kilo Code"),
        Binding("p", "toggle_pause", "pause", False, tooltip="Pause or resume probing"),
        Binding("a", "probe_all", "probe all", False, tooltip="Probe all endpoints now"),
        Binding("c", "check_answers", "check answers", False, tooltip="Check answers now"),
    ]

    # The screens watch these and redraw what changed; a repaint of the app would redraw
    # every widget on screen (with a snapshot a second, a good part of the UI's CPU).
    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True, repaint=False)
    window: reactive[str] = reactive("1h", repaint=False)
    in_flight: reactive[int] = reactive(0, repaint=False)
    # "starting", "on", "paused", "stopped" (it failed) or "off" (--no-probe)
    probe_state: reactive[str] = reactive("off", repaint=False)

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        env: Mapping[str, str],
        probe_settings: ProbeSettings | None = None,
        schedule: ScheduleSettings | None = None,
        *,
        probing: bool = True,
        simulated: bool = False,
        window: str = "1h",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_s: float | None = 1.0,
        only_prober: str | None = None,
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.store = store
        self.env = env
        self.probe_settings = probe_settings or ProbeSettings()
        self.schedule = schedule or ScheduleSettings()
        self.probing = probing
        self.simulated = simulated
        self.clock = clock
        self.only_prober = only_prober  # show only what this prober measured
        self.refresh_s = refresh_s
        self.endpoints = catalog.enabled()
        self.missing = {e.id: resolve(e, env).missing for e in catalog.providers}
        self.scheduler: Prober | None = None  # the prober process, once it probes
        self.set_reactive(MonitorApp.window, window)
        self._computing = False
        self._stale = False
        self._computed_at = -MIN_RECOMPUTE_GAP_S  # monotonic start of the last recompute
        self._soon: Timer | None = None
        self._kept = Kept(store)  # what the last ranking read and is still true
        self._landed: set[str] = set()  # endpoints with a probe landed since the last recompute
        self._prober_launched = False
        self._asked: set[str] = set()  # endpoints the user asked to probe: report what happens
        self._last_error = ""

    def get_driver_class(self) -> type[Driver]:
        return hang_up_proof(super().get_driver_class())

    def get_default_screen(self) -> Screen[Any]:
        return RankingScreen()

    def on_mount(self) -> None:
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for stop in STOP_SIGNALS:
                loop.add_signal_handler(stop, self.call_next, self.action_quit)
        if self.simulated:
            self.sub_title = "SIMULATED"
        self.refresh_stats()
        if self.refresh_s:
            self.set_interval(self.refresh_s, self._refresh_soon)
        if self.probing:
            self.probe_state = "starting"  # the prober starts once the first ranking shows

    # ------------------------------------------------------------ probing

    async def action_quit(self) -> None:
        """Stop the prober, waiting for its process to end, then quit. Textual only cancels
        workers at exit, without waiting; the demo removes the folder the prober writes to."""
        for worker in self.workers.cancel_group(self, "scheduler"):
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        self.exit()

    def on_unmount(self) -> None:
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for stop in STOP_SIGNALS:
                loop.remove_signal_handler(stop)

    @work(exclusive=True, group="scheduler", exit_on_error=False)
    async def _probe_forever(self) -> None:
        try:
            async with open_prober(
                self.endpoints,
                self.store,
                self.env,
                self.probe_settings,
                self.schedule,
                self._forward,
            ) as scheduler:
                self.scheduler = scheduler
                self.probe_state = "on"
                try:
                    await scheduler.run()
                finally:  # quitting cancels us; the scheduler abandons probes in flight cleanly
                    self.scheduler = None
        except Exception as exc:
            self.probe_state = "stopped"
            self.post_message(Failed("probing", exc))

    def _forward(self, event: Event) -> None:
        self.post_message(ProbeEvent(event))

    def on_probe_event(self, message: ProbeEvent) -> None:
        match message.event:
            case ProbeLanded(result=result):
                self._landed.add(result.endpoint_id)
                self._refresh_soon()
            case ProbeStarted(endpoint_id=endpoint_id) if endpoint_id in self._asked:
                self._asked.discard(endpoint_id)
                self.notify(f"Probing {endpoint_id} now.")
            case ProbeSkipped(endpoint_id=endpoint_id, reason=reason) if endpoint_id in self._asked:
                self._asked.discard(endpoint_id)
                self.notify(
                    f"{endpoint_id} was not probed: {reason}.", severity="warning", markup=False
                )

    def _ready_scheduler(self) -> Prober | None:
        """The scheduler, if it can take orders now; otherwise say why not."""
        if self.scheduler is None:
            why = "--no-probe shows the store only" if not self.probing else "it is not running"
            self.notify(f"Cannot probe: {why}.", severity="warning")
        elif self.scheduler.paused:
            self.notify("Probing is paused; press p to resume it first.", severity="warning")
        else:
            return self.scheduler
        return None

    def probe_endpoint(self, endpoint_id: str) -> None:
        scheduler = self._ready_scheduler()
        if scheduler is None:
            return
        if endpoint_id in scheduler.in_flight:
            self.notify(f"A probe of {endpoint_id} is already in flight.")
            return
        # Said when the scheduler starts it, or says why not (a Retry-After, the budget).
        self._asked.add(endpoint_id)
        scheduler.probe_now(endpoint_id)

    def action_probe_all(self) -> None:
        scheduler = self._ready_scheduler()
        if scheduler is not None:
            scheduler.probe_now()
            every = plural(len(self.endpoints), "endpoint")
            self.notify(f"Probing all {every} now, budgets permitting.")

    def action_check_answers(self) -> None:
        scheduler = self._ready_scheduler()
        if scheduler is not None:
            scheduler.quality_now()
            every = plural(len(self.endpoints), "endpoint")
            self.notify(f"Checking one answer of each of the {every} now, budgets permitting.")

    def action_toggle_pause(self) -> None:
        if self.scheduler is None:
            self._ready_scheduler()  # says why
        elif self.scheduler.paused:
            self.scheduler.resume()
            self.probe_state = "on"
            self.notify("Probing resumed.")
        else:
            self.scheduler.pause()
            self.probe_state = "paused"
            self.notify("Probing paused (probes in flight finish); press p to resume.")

    # ------------------------------------------------------------ stats

    def refresh_stats(self) -> None:
        """Recompute the ranking in a thread; if one is running, once more after it."""
        if self._computing:
            self._stale = True
            return
        self._computing, self._stale = True, False
        self._computed_at = time.monotonic()
        landed, self._landed = self._landed, set()
        self._compute_stats(self.window, landed)

    def _refresh_soon(self) -> None:
        if self._soon is None:
            gap = self._computed_at + MIN_RECOMPUTE_GAP_S - time.monotonic()
            self._soon = self.set_timer(max(LANDED_DEBOUNCE_S, gap), self._refresh_now)

    def _refresh_now(self) -> None:
        self._soon = None
        self.refresh_stats()

    @work(thread=True, group="stats", exit_on_error=False)
    def _compute_stats(self, window: str, landed: set[str]) -> None:
        try:
            now = self.clock()
            stats = standings(
                self.endpoints, self.store, self.env, window, self.only_prober, now,
                self._kept, landed,
            )  # fmt: skip
            traffic = self.store.traffic(now - parse_window(window))
            held = open_circuits(self.store.remembered(ROUTER_CIRCUITS), now)
        except Exception as exc:  # a broken store: said once, retried on the next tick
            self.post_message(StatsReady(None, str(exc) or type(exc).__name__))
        else:
            self.post_message(StatsReady(Snapshot(stats, now, window, traffic, tuple(held))))

    def watch_window(self) -> None:
        self.refresh_stats()

    def action_next_window(self) -> None:
        names = list(WINDOWS)
        position = names.index(self.window) if self.window in names else -1
        self.window = names[(position + 1) % len(names)]

    def on_stats_ready(self, message: StatsReady) -> None:
        self._computing = False
        # Counted with each snapshot, not on every probe event (40 status-line redraws a
        # second at 20 probes/s).
        self.in_flight = len(self.scheduler.in_flight) if self.scheduler else 0
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self._last_error = ""
        else:
            self._report("reading the store", message.error)
        if self.probing and not self._prober_launched:
            # Not sooner: the prober's start-up would compete with the first frame for CPU.
            self._prober_launched = True
            self.call_after_refresh(self._probe_forever)
        if self._stale:
            self.refresh_stats()

    def on_failed(self, message: Failed) -> None:
        self._report(message.what, message.message)

    def _report(self, what: str, message: str) -> None:
        if message != self._last_error:  # a broken store fails every second; say it once
            self._last_error = message
            self.notify(message, title=f"{what} failed", severity="error", markup=False)

    # ------------------------------------------------------------ keys and palette

    def _selected(self) -> Endpoint | None:
        selected = getattr(self.screen, "selected_endpoint", None)
        return selected() if callable(selected) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_pause", "probe_all", "check_answers"):
            return self.probing  # hidden with --no-probe
        if action in ("export", "export_dialog"):
            return True if self._selected() else None  # shown dimmed without a selection
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key binding of the screen is a palette entry too, plus the direct choices."""
        yield from super().get_system_commands(screen)
        for active in screen.active_bindings.values():
            binding = active.binding
            listed = binding.show or binding.tooltip
            if listed and active.enabled and binding.action not in NOT_IN_PALETTE:
                yield SystemCommand(
                    binding.tooltip or binding.description.capitalize(),
                    f"key {binding.key_display or binding.key}",
                    partial(self.run_action, binding.action, active.node),
                )
        for name in WINDOWS:
            choose = partial(setattr, self, "window", name)
            yield SystemCommand(f"Window {name}", f"stats over the last {name}", choose)
        commands = getattr(screen, "commands", None)
        if callable(commands):
            yield from commands()


def run_dashboard(
    catalog: Catalog,
    store: Store,
    env: Mapping[str, str],
    probe_settings: ProbeSettings,
    schedule: ScheduleSettings,
    *,
    probing: bool,
    simulated: bool,
    window: str = "1h",
    only_prober: str | None = None,
) -> int:
    app = MonitorApp(
        catalog,
        store,
        env,
        probe_settings,
        schedule,
        probing=probing,
        simulated=simulated,
        window=window,
        only_prober=only_prober,
    )
    app.run()
    return app.return_code or 0
