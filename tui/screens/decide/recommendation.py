"""Step 5: the verdict, every reason behind it, the break-even, and what to do next."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from backends.decision import Recommendation, Stance, Verdict
from tui.journey import Position
from tui.screens.step import StepScreen

VERDICT_CLASS = {
    Verdict.FINE_TUNE: "-go",
    Verdict.NOT_NEEDED: "-stop",
    Verdict.NO_GAIN: "-stop",
    Verdict.UNAVAILABLE: "-stop",
    Verdict.NOT_WORTH_IT: "-stop",
    Verdict.TRY_RAG: "-wait",
    Verdict.TRY_PROMPTING: "-wait",
    Verdict.COLLECT_DATA: "-wait",
    Verdict.INCOMPLETE: "-wait",
}
STANCE_MARK = {Stance.FOR: "+", Stance.AGAINST: "−", Stance.NOTE: "·"}


class RecommendationScreen(StepScreen):
    position = Position(0, 4)
    form_scroll_focusable = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "edit(0)", "Edit", id="edit-1", show=False),
        Binding("2", "edit(1)", id="edit-2", show=False),
        Binding("3", "edit(2)", id="edit-3", show=False),
        Binding("4", "edit(3)", id="edit-4", show=False),
    ]

    @property
    def recommendation(self) -> Recommendation:
        return self.app.recommendation

    def compose_form(self) -> ComposeResult:
        rec = self.recommendation
        saved_to = self.app.workspace.display(self.app.workspace.decision_md)
        yield Static(
            f"[b]{escape(rec.headline)}[/b]", id="verdict", classes=VERDICT_CLASS[rec.verdict]
        )
        with Vertical(id="reasons"):
            for reason in rec.reasons:
                with Horizontal(classes=f"reason -{reason.stance.value}"):
                    yield Label(STANCE_MARK[reason.stance], classes="reason-mark")
                    yield Static(reason.text, classes="reason-text", markup=False)
        yield Static(self._break_even_text(), id="break-even")
        steps = "\n".join(f"{n}. {escape(step)}" for n, step in enumerate(rec.next_steps, 1))
        yield Static(f"[b]Next[/b]\n{steps}", id="next-steps")
        yield Static(
            f"Saved to {escape(saved_to)}  ·  press 1-4 to change an answer",
            id="saved-to",
        )

    def _break_even_text(self) -> str:
        be = self.recommendation.break_even
        if be is None:
            return "[b]Break-even[/b]  not computed: give a one-off cost (Cost) and prompt tokens and volume (Benefit)."
        parts = [f"one-off ${be.training_cost:,.2f}"]
        if be.compute_cost is not None:
            source = "measured" if be.compute_measured else "your estimate"
            parts.append(f"compute ${be.compute_cost:,.2f} ({source})")
        if be.prep_cost is not None:
            parts.append(f"preparation ${be.prep_cost:,.2f}")
        head = "[b]Break-even[/b]  " + ", ".join(parts)
        if be.requests is None:
            return head + "\n  never pays back: each request costs more after fine-tuning"
        line = (
            f"\n  ÷ ${be.saving_per_request:,.6f}".rstrip("0")
            + f" saved per request = {be.requests:,.0f} requests"
        )
        if be.months is not None:
            line += f" ≈ {be.months:,.1f} months"
        return head + line

    def action_edit(self, step: int) -> None:
        self.leave(Position(0, step))
