"""F1 / ?: the keys, and a short tour of the journey."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.journey import JOURNEY

KEYS = (
    ("Tab / Shift+Tab", "next / previous field"),
    ("Enter", "open a choice, confirm, or move to the next field"),
    ("Ctrl+N", "next step (greyed out until the step is complete)"),
    ("Esc", "previous step; closes a dialog"),
    ("F2", "models each provider can fine-tune (Cost step)"),
    ("F3", "use the sample dataset (Dataset step)"),
    ("F5", "every training run; Enter opens its live monitor"),
    ("1-4", "change an answer (Recommendation step)"),
    ("Ctrl+P", "command palette: jump to a step, save, help, theme"),
    ("F1 or ?", "this help"),
    ("Ctrl+Q", "save and quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close", id="close-help"),
    ]

    def __init__(self, workspace: str) -> None:
        super().__init__(classes="dialog")
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog-box"):
            yield Static("[b]finetune-tui help[/b]", classes="dialog-title")
            keys = "\n".join(f"[b]{key:<16}[/b] {what}" for key, what in KEYS)
            yield Static(keys, id="help-keys")
            stages = " › ".join(
                stage.title if stage.available else f"{stage.title} (upcoming)" for stage in JOURNEY
            )
            yield Static(
                f"[b]The journey[/b]  {stages}\n"
                "Decide asks the four questions every fine-tuning guide asks first (use case, "
                "alternatives, cost, benefit) and recommends with reasons; Dataset checks your data "
                "and feeds its measured tokens and price back into Cost. Answers are saved as you "
                f"go, in {self.workspace}/decision.json and a readable decision.md; reopening the "
                "app restores them.",
                id="help-tour",
            )
            yield Static(
                "[b]Your own keys[/b]  keymap.toml in the finetune-tui config folder "
                "(~/.config/finetune-tui/ on Linux) remaps a binding by its id, e.g. "
                '[i]next = "ctrl+j"[/i]. Ids: next, back, help, quit, runs, catalog, sample, '
                "cancel-run and more (a wrong id is named, with the full list).",
                id="help-keymap",
            )
        yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
