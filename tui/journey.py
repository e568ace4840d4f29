"""Where a person is in the whole journey, and which parts exist yet.

The journey is a row of stages (Decide → Dataset → Backend → Train →
Evaluate), each a row of steps. The step rail draws it, the app's controller
walks it, and the command palette offers the steps already visited. A stage
whose screens have not been built has no steps: it shows as upcoming, never as
a clickable placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    question: str


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    steps: tuple[Step, ...] = ()

    @property
    def available(self) -> bool:
        return bool(self.steps)


DECIDE = Stage(
    "decide",
    "Decide",
    (
        Step("use_case", "Use case", "What do you want to improve, and why?"),
        Step("alternatives", "Alternatives", "Have you tried prompting and retrieval?"),
        Step("cost", "Cost", "Can your model be tuned, and what will it take?"),
        Step("benefit", "Benefit", "What would fine-tuning gain you?"),
        Step("recommendation", "Recommendation", "Should you fine-tune?"),
    ),
)
DATASET = Stage(
    "dataset",
    "Dataset",
    (
        Step("pick", "Pick data", "Which data will you train on?"),
        Step("report", "Report", "Is this data ready to train on?"),
    ),
)

BACKEND = Stage(
    "backend",
    "Backend",
    (
        Step("where", "Where to train", "Where will the model be trained?"),
        Step("settings", "Settings", "Which model, method and settings?"),
        Step("launch", "Launch", "Ready to start training?"),
    ),
)

EVALUATE = Stage(
    "evaluate",
    "Evaluate",
    (
        Step("setup", "Setup", "What to measure, on which held-out examples?"),
        Step("results", "Results", "Does the tuned model beat the alternatives?"),
        Step("try", "Try it", "How do they answer your own prompt?"),
    ),
)

TRAIN = Stage(
    "train",
    "Train",
    (Step("runs", "Runs", "How is training going, and which run goes on to Evaluate?"),),
)

JOURNEY: tuple[Stage, ...] = (
    DECIDE,
    DATASET,
    BACKEND,
    TRAIN,
    EVALUATE,
)

DECIDE_STEPS = DECIDE.steps


def stage_index(key: str) -> int:
    return next(index for index, stage in enumerate(JOURNEY) if stage.key == key)


@dataclass(frozen=True, order=True)
class Position:
    """A step in the journey: ``JOURNEY[stage].steps[step]``."""

    stage: int
    step: int

    @property
    def stage_info(self) -> Stage:
        return JOURNEY[self.stage]

    @property
    def step_info(self) -> Step:
        return JOURNEY[self.stage].steps[self.step]

    def next(self) -> Position | None:
        """The following step: in this stage, else the first of the next available stage."""
        if self.step + 1 < len(JOURNEY[self.stage].steps):
            return Position(self.stage, self.step + 1)
        following = self.stage + 1
        if following < len(JOURNEY) and JOURNEY[following].available:
            return Position(following, 0)
        return None

    def previous(self) -> Position | None:
        """The step before: in this stage, else the last of the previous available stage."""
        if self.step > 0:
            return Position(self.stage, self.step - 1)
        for stage in range(self.stage - 1, -1, -1):
            if JOURNEY[stage].available:
                return Position(stage, len(JOURNEY[stage].steps) - 1)
        return None
