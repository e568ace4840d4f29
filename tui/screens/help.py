"""F1 / ?: the keys, and a short tour of the journey."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from tui.journey import JOURNEY

KEYS = (
    ("Tab / Shift+Tab", "next / previous field"),
    ("Enter", "open a choice, confirm, or the next field; on the last field, next step"),
    ("Left / Right", "switch tabs, radio options and dialog buttons"),
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


JOURNEY_TOUR = (
    "Decide asks the four questions every fine-tuning guide asks first (use case, "
    "alternatives, cost, benefit) and recommends with reasons. Dataset checks your data "
    "(findings with lines and a fix each) and feeds its measured tokens and price back "
    "into Cost. Backend picks where to train (OpenAI, Azure OpenAI or your own GPU), "
    "its settings, and launches after a last check. Train follows the run live: loss "
    "plot, figures, log; Esc detaches and the run goes on (F5 lists every run). "
    "Evaluate measures the tuned model against the alternatives on held-out examples "
    "(the share of acceptable answers), feeds the result back into the recommendation, "
    "and Try it puts your own prompt to both models side by side."
)


GENERIC_ACTIONS = ("scroll_", "page_", "app.focus", "focus_", "screen.copy", "copy", "minimize")


def screen_keys(screen: Screen[object]) -> list[tuple[str, str]]:
    """The keys of ``screen`` and of its focused widget, the app's own left out."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    for node, binding, _enabled, _tooltip in screen.active_bindings.values():
        if node is screen.app or not binding.description or binding.action in seen:
            continue
        if binding.action.startswith(GENERIC_ACTIONS):
            continue  # scrolling, Tab, copy: the same everywhere, not this screen's
        seen.add(binding.action)
        keys.append((screen.app.get_key_display(binding), binding.description))
    return keys


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
            here = self._calling_screen()
            if here is not None and (own := screen_keys(here)):
                title = escape(here.sub_title or "this screen")
                lines = "\n".join(f"[b]{escape(key):<16}[/b] {escape(what)}" for key, what in own)
                yield Static(f"[b]Keys here[/b] ({title})\n{lines}", id="help-screen-keys")
            keys = "\n".join(f"[b]{key:<16}[/b] {what}" for key, what in KEYS)
            yield Static(f"[b]Everywhere[/b]\n{keys}", id="help-keys")
            stages = " › ".join(
                stage.title if stage.available else f"{stage.title} (upcoming)" for stage in JOURNEY
            )
            yield Static(
                f"[b]The journey[/b]  {stages}\n{JOURNEY_TOUR} Answers are saved as you "
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

    def _calling_screen(self) -> Screen[object] | None:
        """The screen F1 was pressed on: the one under this dialog."""
        stack = [screen for screen in self.app.screen_stack if screen is not self]
        return stack[-1] if stack else None

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
