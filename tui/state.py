"""What the app remembers between steps beyond the checklist answers."""

from __future__ import annotations

from dataclasses import dataclass

from backends.catalog import Provider
from backends.decision import Answers


@dataclass
class DatasetChoice:
    """The data the Dataset step inspects, and the model its figures are for."""

    train: str = ""
    validation: str = ""
    provider: Provider = Provider.OPENAI
    model: str = "gpt-4o-mini"
    max_length: int | None = None
    """Local training's longest sequence: longer examples are truncated."""

    @classmethod
    def from_answers(cls, answers: Answers) -> DatasetChoice:
        """Start from the checklist: its provider and model, and the file measured last time."""
        cost = answers.cost
        model = cost.model.strip() or answers.use_case.current_model.strip() or "gpt-4o-mini"
        return cls(train=answers.measured.source, provider=cost.provider, model=model)
