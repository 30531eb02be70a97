"""The dashboard's export keys: `o`, `k` and `e` write the selected endpoint into a coding
tool's config; `u` undoes the newest export on disk (from any run, per file), after saying
exactly what it will undo and being asked twice.

Files are read and written in thread workers; results come back as typed messages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App

from monitor.tui.messages import Exported, Failed, Undone, UndoOffered
from monitor.tui.screens.export import ExportModal

if TYPE_CHECKING:
    from monitor.catalog import Endpoint

UNDO_CONFIRM_S = 10.0  # a second `u` within this long confirms
DEMO_REFUSAL = (
    "The demo's endpoints are simulated on 127.0.0.1 and stop with the demo: a tool pointed "
    "at one would break. Run `oss-monitor` on your providers to export."
)


def _export() -> Any:
    import monitor.export as export  # heavy (ruamel, tomlkit): imported on first use

    return export


class ExportActions(App[int]):
    """The export half of MonitorApp, which sets these."""

    env: Mapping[str, str]
    simulated: bool
    _undo_offer: tuple[Any, float] | None = None  # (record, when offered)

    def _selected(self) -> Endpoint | None:
        raise NotImplementedError

    def _exportable(self) -> Endpoint | None:
        if self.simulated:
            self.notify(DEMO_REFUSAL, title="not exported", severity="warning", timeout=10)
            return None
        return self._selected()

    def action_export(self, tool: str) -> None:
        endpoint = self._exportable()
        if endpoint is not None:
            self._export_now(tool, endpoint)

    def action_export_dialog(self) -> None:
        endpoint = self._exportable()
        if endpoint is not None:
            self.push_screen(ExportModal(endpoint, _export(), self.env), self._dialog_done)

    def _dialog_done(self, result: Any) -> None:
        if result is not None:
            self.post_message(Exported(result))

    @work(thread=True, group="export", exit_on_error=False)
    def _export_now(self, tool: str, endpoint: Endpoint) -> None:
        export = _export()
        try:
            result = export.apply_export(
                export.plan_export(tool, endpoint, env=self.env), env=self.env
            )
        except Exception as exc:  # an unreadable config, a read-only file: said, not raised
            self.post_message(Failed(f"export to {tool}", exc))
        else:
            self.post_message(Exported(result))

    def on_exported(self, message: Exported) -> None:
        """Report a written export (the message names the file, the backup, and `u`)."""
        self._undo_offer = None
        self.notify(message.result.message, title=f"export to {message.result.tool}")

    def action_undo_export(self) -> None:
        offer = self._undo_offer
        if offer is not None and time.monotonic() - offer[1] < UNDO_CONFIRM_S:
            self._undo_offer = None
            self._undo(offer[0])
        else:
            self._find_undo()

    @work(thread=True, group="undo", exit_on_error=False)
    def _find_undo(self) -> None:
        try:
            self.post_message(UndoOffered(_export().last_export(self.env)))
        except Exception as exc:
            self.post_message(Failed("undo", exc))

    def on_undo_offered(self, message: UndoOffered) -> None:
        if message.record is None:
            self.notify("Nothing to undo: no export is recorded on this machine.")
            return
        self._undo_offer = (message.record, time.monotonic())
        what = _export().describe(message.record)
        self.notify(f"Press u again to {what}.", title="undo?", timeout=UNDO_CONFIRM_S)

    @work(thread=True, group="undo", exit_on_error=False)
    def _undo(self, record: Any) -> None:
        try:
            self.post_message(Undone(_export().undo(record, self.env)))
        except Exception as exc:
            self.post_message(Failed("undo", exc))

    def on_undone(self, message: Undone) -> None:
        self.notify(message.result.message, title="export undone")
