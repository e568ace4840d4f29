"""Where a person is in the whole journey, and which parts exist yet.

The step rail draws this; the command palette offers the steps that exist.
A step whose screens have not been built is shown as upcoming, never as a
clickable placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    available: bool


JOURNEY: tuple[Stage, ...] = (
    Stage("decide", "Decide", True),
    Stage("dataset", "Dataset", False),
    Stage("backend", "Backend", False),
    Stage("train", "Train", False),
    Stage("evaluate", "Evaluate", False),
)


@dataclass(frozen=True)
class DecideStep:
    key: str
    title: str
    question: str


DECIDE_STEPS: tuple[DecideStep, ...] = (
    DecideStep("use_case", "Use case", "What do you want to improve, and why?"),
    DecideStep("alternatives", "Alternatives", "Have you tried prompting and retrieval?"),
    DecideStep("cost", "Cost", "Can your model be tuned, and what will it take?"),
    DecideStep("benefit", "Benefit", "What would fine-tuning gain you?"),
    DecideStep("recommendation", "Recommendation", "Should you fine-tune?"),
)
