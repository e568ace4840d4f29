"""One evaluation example: the prompt, the reference, and each method's answer side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from backends.evaluate.compare import Row


class ExampleScreen(ModalScreen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    """Narrow terminals stack the answers: side by side, each column would wrap its label."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="close-example"),
    ]

    def __init__(self, row: Row, methods: list[str]) -> None:
        super().__init__(classes="dialog")
        self.row = row
        self.methods = methods

    def compose(self) -> ComposeResult:
        from backends.evaluate.compare import METHOD_LABELS

        row = self.row
        difference = row.difference()
        delta = "" if difference is None else f" · tuned − best alternative: {difference:+.2f} F1"
        with Vertical(id="example-box", classes="dialog-box"):
            yield Static(f"Line {row.line}{delta}", classes="dialog-title", markup=False)
            with VerticalScroll(id="example-scroll"):
                yield Static("Prompt", classes="example-heading")
                yield Static(row.prompt, classes="example-text", markup=False)
                yield Static("Reference", classes="example-heading")
                yield Static(row.reference, classes="example-text", markup=False)
                with Horizontal(id="example-answers"):
                    for method in self.methods:
                        generation = row.answers.get(method)
                        scores = row.scores.get(method)
                        score = f" · F1 {scores['token_f1']:.2f}" if scores else ""
                        verdict = row.judgements.get(method)
                        if verdict is not None:
                            score += (
                                f" · judge {verdict.score}/5"
                                if verdict.score is not None
                                else " · judge: no grade"
                            )
                        if generation is None:
                            text = "(not run)"
                        elif not generation.ok:
                            text = f"(failed: {generation.error})"
                        else:
                            text = generation.text
                        with Vertical(classes="example-answer"):
                            yield Static(
                                f"{METHOD_LABELS[method]}{score}",
                                classes="example-heading",
                                markup=False,
                            )
                            yield Static(text, classes="example-text", markup=False)
                            if verdict is not None and verdict.error:
                                yield Static(verdict.error, classes="example-judge", markup=False)
            yield Static("Esc closes.", classes="dialog-text")

    def action_close(self) -> None:
        self.dismiss(None)
