"""Step 2: what prompting and retrieval achieved before anyone trains anything."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from backends.decision import PromptingTried
from tui.journey import Position
from tui.screens.step import StepScreen
from tui.widgets.form import Field, NumberInput

PROMPTING_LESSON = (
    "[b]Prompt engineering[/b]: clear instructions (zero-shot), then a few worked examples in the "
    "prompt (few-shot). Wins when the model can already do the task and only needs showing how: "
    "minutes to try, nothing to train or host."
)
RAG_LESSON = (
    "[b]Retrieval-augmented generation (RAG)[/b]: fetch the passages of your documents that match "
    "each request and put them in the prompt. Wins when the gap is knowledge that is missing or "
    "changes: update the index, not the model."
)


class AlternativesScreen(StepScreen):
    position = Position(0, 1)

    def compose_form(self) -> ComposeResult:
        alts = self.answers.alternatives
        measured = self.answers.measured
        if measured.baseline_score is not None:
            line = f"[b]Measured[/b] on held-out examples: best alternative {measured.baseline_score:g}"
            if measured.tuned_score is not None:
                line += f", tuned model {measured.tuned_score:g}"
            yield Static(line + " (Evaluate stage).", id="alternatives-measured")
        yield Static(PROMPTING_LESSON, classes="lesson")
        yield Field(
            "Prompting tried",
            Select(
                [(option.label, option) for option in PromptingTried],
                value=alts.prompting,
                allow_blank=False,
                compact=True,
                id="prompting",
            ),
        )
        score = NumberInput(
            alts.prompting_score, maximum=100, id="prompting-score", placeholder="0-100"
        )
        score.tooltip = "Prompting score"
        yield Field("Prompting score (%)", score, "Share of acceptable answers on 20+ real inputs.")
        yield Field(
            "Prompting notes",
            Input(
                alts.prompting_notes,
                placeholder="What worked, what still fails",
                compact=True,
                id="prompting-notes",
            ),
        )
        yield Static(RAG_LESSON, classes="lesson")
        yield Field(
            "RAG tried",
            Select(
                [("Not yet", False), ("Yes", True)],
                value=alts.rag_tried,
                allow_blank=False,
                compact=True,
                id="rag-tried",
            ),
        )
        rag_score = NumberInput(alts.rag_score, maximum=100, id="rag-score", placeholder="0-100")
        rag_score.tooltip = "RAG score"
        yield Field("RAG score (%)", rag_score, "Same inputs, same bar for acceptable.")
        yield Field(
            "RAG notes",
            Input(
                alts.rag_notes,
                placeholder="What you indexed, what it missed",
                compact=True,
                id="rag-notes",
            ),
        )

    def store(self) -> None:
        alts = self.answers.alternatives
        prompting = self.query_one("#prompting", Select).value
        alts.prompting = prompting if isinstance(prompting, PromptingTried) else PromptingTried.NO
        alts.prompting_score = self.query_one("#prompting-score", NumberInput).number
        alts.prompting_notes = self.query_one("#prompting-notes", Input).value.strip()
        alts.rag_tried = self.query_one("#rag-tried", Select).value is True
        alts.rag_score = self.query_one("#rag-score", NumberInput).number
        alts.rag_notes = self.query_one("#rag-notes", Input).value.strip()
