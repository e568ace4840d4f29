"""Step 1: what the person wants to improve, and why."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input, Select, Static

from backends.catalog import CATALOG
from backends.decision import UseCaseCategory
from tui.journey import Position
from tui.screens.step import StepScreen
from tui.widgets.form import Field, NumberInput

CATEGORY_HINTS = {
    UseCaseCategory.STYLE: "Fine-tuning's home ground: the same voice, format or structure every time.",
    UseCaseCategory.KNOWLEDGE: "Facts the model lacks: retrieval (RAG) usually beats training them in.",
    UseCaseCategory.TASK_ACCURACY: "Classification, extraction, a fixed transformation: tunes well with clean examples.",
    UseCaseCategory.EFFICIENCY: "Bake a long prompt into the model so each request sends fewer tokens.",
    UseCaseCategory.FUNCTION_CALLING: "Call your tools reliably with the right arguments.",
    UseCaseCategory.OTHER: "Describe it below; the recommendation will ask the general questions.",
}

MODEL_NAMES = sorted({name for entry in CATALOG for name in (entry.name, *entry.aliases)})


class UseCaseScreen(StepScreen):
    position = Position(0, 0)

    def compose_form(self) -> ComposeResult:
        # Textual's editor is the heaviest widget here; the fields come after the first frame,
        # and so does its module.
        from textual.widgets import TextArea

        uc = self.answers.use_case
        yield Field(
            "Improve",
            Select(
                [(category.label, category) for category in UseCaseCategory],
                value=uc.category if uc.category is not None else Select.NULL,
                prompt="Choose what to improve",
                compact=True,
                id="category",
            ),
            self._category_hint(uc.category),
        )
        area = TextArea(uc.description, id="description", soft_wrap=True, show_line_numbers=False)
        area.placeholder = "What goes wrong today, for whom, and what good output looks like."
        yield Field("What and why", area, "Free text. Concrete examples of bad outputs help most.")
        yield Field(
            "Model used today",
            Input(
                uc.current_model,
                placeholder="e.g. gpt-4o-mini",
                suggester=SuggestFromList(MODEL_NAMES, case_sensitive=False),
                compact=True,
                id="current-model",
            ),
            "Serves this task today; → accepts a suggestion.",
        )
        target = NumberInput(
            uc.target_score, minimum=0, maximum=100, id="target-score", placeholder="0-100"
        )
        target.tooltip = "Quality you need"
        yield Field(
            "Quality you need (%)", target, "Share of answers that must be acceptable, 0-100."
        )

    def _category_hint(self, category: UseCaseCategory | None) -> str:
        return (
            CATEGORY_HINTS[category] if category else "Pick the closest; 'Something else' is fine."
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "category":
            value = event.value if isinstance(event.value, UseCaseCategory) else None
            self.query_one("#category-hint", Static).update(self._category_hint(value))
            self.refresh_validity()

    def problems(self) -> list[str]:
        found = super().problems()
        if not isinstance(self.query_one("#category", Select).value, UseCaseCategory):
            found.append("Choose what you want to improve to go on.")
        return found

    def store(self) -> None:
        uc = self.answers.use_case
        category = self.query_one("#category", Select).value
        uc.category = category if isinstance(category, UseCaseCategory) else None
        from textual.widgets import TextArea

        uc.description = self.query_one("#description", TextArea).text
        uc.current_model = self.query_one("#current-model", Input).value.strip()
        uc.target_score = self.query_one("#target-score", NumberInput).number
