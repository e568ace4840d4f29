"""Form building blocks: a labelled row, and number inputs that mean "blank = not answered"."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.style import Style
from textual.validation import Number
from textual.widget import Widget
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

FOCUS_MARK = "▸ "
"""Before the label of the field that has focus: visible without colour and in a text capture."""
NO_MARK = "  "


class Field(Vertical):
    """``label  [widget]`` on one row, with an optional hint below the widget.

    ``hint=None`` means no hint line; ``hint=""`` keeps an empty one that the
    screen fills in later (its id is the widget's id + ``-hint``).
    """

    def __init__(self, label: str, widget: Widget, hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(classes="field", **kwargs)
        self._label = label
        self._widget = widget
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(NO_MARK + self._label, classes="field-label")
            yield self._widget
        if self._hint is not None:
            hint_id = f"{self._widget.id}-hint" if self._widget.id else None
            yield Static(self._hint, classes="field-hint", id=hint_id, markup=False)

    def on_mount(self) -> None:
        # The screen's focus, not Focus/Blur events: focus that landed before this field
        # was ready (a restored screen) is marked too, and nothing stays marked after it left.
        self.watch(self.screen, "focused", self._focus_moved, init=True)

    def _focus_moved(self, focused: Widget | None) -> None:
        self._mark(focused=focused is not None and self in focused.ancestors)

    def _mark(self, *, focused: bool) -> None:
        """``▸`` and the ``-focused`` class on the field with focus; cleared when focus leaves."""
        if self.has_class("-focused") == focused:
            return
        self.set_class(focused, "-focused")
        for label in self.query(".field-label").results(Label):
            label.update((FOCUS_MARK if focused else NO_MARK) + self._label)


class Choice(RadioButton):
    """A radio option whose glyph says whether it is chosen (● chosen, ○ not), colour or none."""

    @property
    def _button(self) -> Content:
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            ("●" if self.value else "○", button_style),
            (self.BUTTON_RIGHT, side_style),
        )


class NumberInput(Input):
    """A compact number input; blank is allowed and means "not answered"."""

    def __init__(
        self,
        value: float | int | None = None,
        *,
        minimum: float | None = 0,
        maximum: float | None = None,
        integer: bool = False,
        placeholder: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            value="" if value is None else _format(value),
            placeholder=placeholder,
            type="integer" if integer else "number",
            validators=[Number(minimum=minimum, maximum=maximum)],
            valid_empty=True,
            compact=True,
            **kwargs,
        )
        self.integer = integer
        self.minimum = minimum
        self.maximum = maximum

    @property
    def number(self) -> float | int | None:
        """The value, or ``None`` when blank or not a valid number in range."""
        text = self.value.strip()
        if not text or not self.is_valid:
            return None
        try:
            return int(text) if self.integer else float(text)
        except ValueError:
            return None

    @property
    def whole_number(self) -> int | None:
        """``number`` of an ``integer=True`` input (``None`` when blank or invalid)."""
        number = self.number
        return None if number is None else int(number)

    def set_number(self, value: float | int | None) -> None:
        self.value = "" if value is None else _format(value)

    def describe_range(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"a number of at least {self.minimum:g}"
        return "a number"


def _format(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


class ChoiceSet(RadioSet):
    """Radio options where the arrows choose, not only highlight (Enter and Space still do).

    Only the person's arrows choose: ``RadioSet`` highlights its first option on mount through
    the same action, which must not override the option chosen when the set was composed.
    """

    _ready = False
    """RadioSet's own mount moves the highlight once: that must not press a button."""

    def on_mount(self) -> None:
        # Runs before RadioSet's own _on_mount (subclass handlers first): arm after it.
        self.call_next(self._arm)

    def _arm(self) -> None:
        """Highlight the chosen button (RadioSet highlights the first): the arrows move from it."""
        pressed = self.pressed_index
        if pressed >= 0:
            self._selected = pressed
        self._ready = True

    def action_next_button(self) -> None:
        super().action_next_button()
        self._choose_highlighted()

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        if self._selected is None or not self._ready or not self.has_focus:
            return
        button = self._nodes[self._selected]
        if isinstance(button, RadioButton) and not button.disabled and not button.value:
            button.value = True
