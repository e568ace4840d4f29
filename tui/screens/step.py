"""What every checklist step shares: the frame, next/back, and validation.

A step is a ``Screen[Move]``: it shows the answers it is given, writes the
person's edits back with ``store`` and dismisses with where to go next. The
app (the controller) saves and shows the next step.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import ClassVar, Literal

from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Input, Static

from backends.decision import Answers
from tui.journey import JOURNEY, Position, Step
from tui.screens.host import JourneyApp
from tui.widgets.footer import KeyFooter, ScreenKeys
from tui.widgets.form import Field, NumberInput
from tui.widgets.step_rail import StepRail

Move = Literal["next", "back", "quit"] | Position
"""Where to go when a step closes: the next or previous step, quit, or a given step."""


class StepScreen(Screen[Move]):
    """Base class of every step of the journey."""

    position: ClassVar[Position] = Position(0, 0)
    COMMANDS = {ScreenKeys}  # noqa: RUF012 - Textual declares it on Screen
    AUTO_FOCUS = None
    """Focus on arrival is chosen in ``on_mount``: the first field, never Back."""
    form_scroll_focusable: ClassVar[bool] = False
    form_after_first_frame: ClassVar[bool] = True
    """Opened at start, this step draws its frame (title, question, keys) first and mounts its
    fields right after that frame, so the wizard appears at once. ``False`` for a step whose
    own ``on_mount`` reads its fields."""
    """Steps without fields let the arrow keys scroll the form instead."""

    app = getters.app(JourneyApp)
    """The running app, typed: what a step may read and call."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Next", id="next", priority=True),
        Binding("escape", "back", "Back", id="back"),
    ]

    class FormReady(Message):
        """An opening step's fields are mounted (the app lets the keys it held reach them)."""

    def __init__(
        self, answers: Answers, furthest: Position | None = None, *, opening: bool = False
    ) -> None:
        """``opening``: the first screen the app shows (see ``form_after_first_frame``)."""
        super().__init__(classes="step")
        self.answers = answers
        self.furthest = max(furthest or self.position, self.position)
        self._validity: tuple[str, bool] | None = None
        self._form_later = opening and self.form_after_first_frame
        self._form_coming = False

    @property
    def step(self) -> Step:
        return self.position.step_info

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield StepRail(self.position, self.furthest)
        yield Static(
            f"[b]{self.position.step + 1} · {self.step.title}[/b]  {self.step.question}",
            id="step-title",
        )
        yield from self.compose_body()
        yield from self.compose_summary()
        with Horizontal(id="nav"):
            yield Button(
                "‹ Back", id="back-button", compact=True, disabled=self.position.previous() is None
            )
            yield Static(id="nav-message")
            yield Button(self.next_label(), id="next-button", variant="primary", compact=True)
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        """Between the title and the nav row: by default the step's fields, scrolling."""
        with VerticalScroll(id="form", can_focus=self.form_scroll_focusable):
            if not self._form_later:
                yield from self.compose_form()

    def compose_form(self) -> ComposeResult:
        """The step's fields."""
        yield from ()

    def compose_summary(self) -> ComposeResult:
        """Widgets kept in view below the scrolling form (live figures)."""
        yield from ()

    def next_label(self) -> str:
        following = self.position.next()
        if following is not None and following.stage != self.position.stage:
            return f"{following.stage_info.title} ›"
        if following is None and self.position.stage + 1 < len(JOURNEY):
            return f"{JOURNEY[self.position.stage + 1].title} (upcoming)"
        return "Next ›"

    def on_mount(self) -> None:
        self.sub_title = f"{self.position.stage_info.title} · {self.step.title}"
        if self._form_later:
            return  # the app calls ``mount_form_after_first_frame`` once that frame is out
        self.refresh_validity()
        self.focus_first_field()

    def mount_form_after_first_frame(self) -> None:
        """The first frame is out (Textual's ``Ready``): now the fields."""
        if self._form_later and not self._form_coming:
            self._form_coming = True
            self.call_after_refresh(self._mount_form)

    async def _mount_form(self) -> None:
        if not self._form_later or not self._in_stack():
            return  # left before its fields came (on_unmount let the held keys go)
        await self.query_one("#form", VerticalScroll).mount_compose(self.compose_form())
        if not self._in_stack():
            return  # left while the fields were mounting (on_unmount let the keys go)
        self._form_later = False
        self.refresh_validity()
        self.focus_first_field()
        self.app.post_message(self.FormReady())

    def _in_stack(self) -> bool:
        return self.is_attached and self in self.app.screen_stack

    def on_unmount(self) -> None:
        if self._form_later:  # left before its fields came: the keys held for them go on
            self.app.post_message(self.FormReady())

    # --- fields and focus --------------------------------------------------

    def fields(self) -> list[Widget]:
        """The focusable widgets above the nav row, in focus order."""
        nav = self.query_one("#nav")
        return [widget for widget in self.focus_chain if nav not in widget.ancestors]

    async def focus_when_mounted(self, mounting: Awaitable[None]) -> None:
        """New fields (a report, a form shown late): focus the first once they are there."""
        await mounting
        self.focus_first_field()

    def focus_first_field(self) -> None:
        """Arrival (or new content): the first field, else Next; never Back."""
        fields = self.fields()
        if self.focused is not None and self.focused in fields:
            return
        if fields:
            fields[0].focus()
            return
        next_button = self.query_one("#next-button", Button)
        if next_button.focusable:
            next_button.focus()
        else:
            self.set_focus(None)

    # --- answers -----------------------------------------------------------

    def store(self) -> None:
        """Write the widgets' values into ``self.answers``."""

    def problems(self) -> list[str]:
        """Why the step cannot be left forward right now (empty when it can)."""
        found = []
        for widget in self.query(NumberInput):
            if widget.value.strip() and not widget.is_valid:
                label = widget.tooltip or widget.id or "a number field"
                found.append(f"{label}: enter {widget.describe_range()}")
        return found

    def refresh_validity(self) -> None:
        """Show the first problem and grey out Next; touch the footer only when that changes."""
        if not self.form_ready:
            return
        problems = self.problems()
        message = problems[0] if problems else ""
        blocked = bool(problems) or not self.can_go_next()
        if (message, blocked) == self._validity:
            return
        self._validity = (message, blocked)
        self.query_one("#nav-message", Static).update(message)
        self.query_one("#next-button", Button).disabled = blocked
        self.refresh_bindings()

    def can_go_next(self) -> bool:
        return self.position.next() is not None

    @on(Input.Changed)
    def _input_changed(self) -> None:
        self.refresh_validity()
        self.answers_changed()
        self.call_after_refresh(self.keep_focused_in_view)

    def keep_focused_in_view(self) -> None:
        """Live figures below the form can grow as one types: keep the field (and its hint) seen."""
        focused = self.focused
        forms = self.query("#form")
        if focused is None or not forms or forms.first() not in focused.ancestors:
            return
        field = next((w for w in focused.ancestors if isinstance(w, Field)), focused)
        forms.first().scroll_to_widget(field, animate=False, immediate=True)

    def answers_changed(self) -> None:
        """Called when a field changed: steps with live figures recompute here."""

    @on(Input.Submitted)
    def _enter_moves_on(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last field it means Next."""
        event.stop()
        fields = self.fields()
        later = fields[fields.index(event.input) + 1 :] if event.input in fields else []
        if later:
            later[0].focus()
        else:
            self.action_next()

    # --- navigation --------------------------------------------------------

    @property
    def holds_keys(self) -> bool:
        """Keys pressed before the fields are there wait for them (the app holds them)."""
        return self._form_later

    @property
    def form_ready(self) -> bool:
        """``False`` only between an opening step's first frame and its fields' mounting:
        nothing to store or check yet."""
        return not self._form_later

    def store_shown(self) -> None:
        """``store`` once the fields are there (before that, nothing was edited)."""
        if self.form_ready:
            self.store()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            if not self.form_ready:
                return None
            return None if self.problems() or not self.can_go_next() else True
        if action == "back":
            return None if self.position.previous() is None else True
        return True

    def action_next(self) -> None:
        if not self.form_ready or self.problems() or not self.can_go_next():
            self.app.bell()
            return
        self.store()
        self.dismiss("next")

    def action_back(self) -> None:
        if self.position.previous() is None:
            return
        self.store_shown()
        self.dismiss("back")

    def leave(self, move: Move) -> None:
        """Store what is on screen and go to ``move`` (used by the palette and quit)."""
        self.store_shown()
        self.dismiss(move)

    @on(Button.Pressed, "#next-button")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back-button")
    def _back_pressed(self) -> None:
        self.action_back()
