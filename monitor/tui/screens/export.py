"""The export dialog: pick a tool, read the diff that would be written, confirm.

Planning and writing happen in thread workers (they read and write files). The dialog
dismisses with the export's result, which the app reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from monitor.catalog import Endpoint


class ExportModal(ModalScreen[Any]):
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, endpoint: Endpoint, export: Any, env: Mapping[str, str]) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.export = export  # the monitor.export module, imported by the app
        self.env = env
        self.plan: Any = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Export [b]{self.endpoint.id}[/b] to a coding tool", id="title")
            tools = self.export.TOOLS
            yield OptionList(*(Option(tools[tool], id=tool) for tool in tools), id="tools")
            with VerticalScroll(id="diff-box"):
                yield Static("Choose a tool to see what would change.", id="diff")
            with Horizontal(id="buttons"):
                yield Button("Write", variant="primary", id="write", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.plan = None
        self.query_one("#write", Button).disabled = True
        if event.option.id:
            self._plan(event.option.id)

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self.query_one("#write", Button).focus()

    class Planned(Message):
        def __init__(self, plan: Any) -> None:
            super().__init__()
            self.plan = plan

    class Applied(Message):
        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Problem(Message):
        def __init__(self, error: Exception) -> None:
            super().__init__()
            self.error = str(error) or type(error).__name__

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def _plan(self, tool: str) -> None:
        try:
            self.post_message(
                self.Planned(self.export.plan_export(tool, self.endpoint, env=self.env))
            )
        except Exception as exc:  # a config we cannot read: shown in the dialog, not raised
            self.post_message(self.Problem(exc))

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def _apply(self, plan: Any) -> None:
        try:
            result = self.export.apply_export(plan, env=self.env)
        except Exception as exc:
            self.post_message(self.Problem(exc))
        else:
            self.post_message(self.Applied(result))

    def on_export_modal_planned(self, message: Planned) -> None:
        self._show_plan(message.plan)

    def on_export_modal_applied(self, message: Applied) -> None:
        self.dismiss(message.result)

    def on_export_modal_problem(self, message: Problem) -> None:
        self.query_one("#diff", Static).update(Text(message.error, style="bold"))

    def _show_plan(self, plan: Any) -> None:
        self.plan = plan
        notes = "".join(f"\n• {note}" for note in plan.notes)
        if plan.changed:
            body: Any = Syntax(plan.diff, "diff", theme="ansi_dark", word_wrap=True)
            self.query_one("#title", Static).update(
                Text.from_markup(f"Write [b]{self.endpoint.id}[/b] into {plan.path}?{notes}")
            )
        else:
            body = Text(f"{plan.path} already uses this endpoint; nothing to write.{notes}")
        self.query_one("#diff", Static).update(body)
        self.query_one("#write", Button).disabled = not plan.changed

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "write" and self.plan is not None:
            event.button.disabled = True
            self._apply(self.plan)
        else:
            self.dismiss(None)
