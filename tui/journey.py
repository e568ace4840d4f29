"""Where a person is in the whole journey, and which parts exist yet.

The journey is a row of stages (Decide → Dataset → Backend → Train →
Evaluate), each a row of steps. The step rail draws it, the app's controller
walks it, and the command palette offers the steps already visited. A stage
whose screens have not been built has no steps: it shows as upcoming, never as
a clickable placeholder.

Each step names its screen as ``"module:Class"``; the app imports it the first time the
person goes there, so opening on the first step never imports (or builds) the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    question: str
    screen: str
    """The step's screen as ``"module:Class"``: imported when the person first goes there, so
    the first screen never pays for the others."""


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
        Step(
            "use_case",
            "Use case",
            "What do you want to improve, and why?",
            "tui.screens.decide.use_case:UseCaseScreen",
        ),
        Step(
            "alternatives",
            "Alternatives",
            "Have you tried prompting and retrieval?",
            "tui.screens.decide.alternatives:AlternativesScreen",
        ),
        Step(
            "cost",
            "Cost",
            "Can your model be tuned, and what will it take?",
            "tui.screens.decide.cost:CostScreen",
        ),
        Step(
            "benefit",
            "Benefit",
            "What would fine-tuning gain you?",
            "tui.screens.decide.benefit:BenefitScreen",
        ),
        Step(
            "recommendation",
            "Recommendation",
            "Should you fine-tune?",
            "tui.screens.decide.recommendation:RecommendationScreen",
        ),
    ),
)
DATASET = Stage(
    "dataset",
    "Dataset",
    (
        Step(
            "pick",
            "Pick data",
            "Which data will you train on?",
            "tui.screens.dataset.pick:DatasetPickScreen",
        ),
        Step(
            "report",
            "Report",
            "Is this data ready to train on?",
            "tui.screens.dataset.report:DatasetReportScreen",
        ),
    ),
)

BACKEND = Stage(
    "backend",
    "Backend",
    (
        Step(
            "where",
            "Where to train",
            "Where will the model be trained?",
            "tui.screens.backend.where:BackendWhereScreen",
        ),
        Step(
            "settings",
            "Settings",
            "Which model, method and settings?",
            "tui.screens.backend.settings:BackendSettingsScreen",
        ),
        Step(
            "launch",
            "Launch",
            "Ready to start training?",
            "tui.screens.backend.launch:BackendLaunchScreen",
        ),
    ),
)

EVALUATE = Stage(
    "evaluate",
    "Evaluate",
    (
        Step(
            "setup",
            "Setup",
            "What to measure, on which held-out examples?",
            "tui.screens.evaluate.setup:EvaluateSetupScreen",
        ),
        Step(
            "results",
            "Results",
            "Does the tuned model beat the alternatives?",
            "tui.screens.evaluate.results:EvaluateResultsScreen",
        ),
        Step(
            "try",
            "Try it",
            "How do they answer your own prompt?",
            "tui.screens.evaluate.tryit:TryItScreen",
        ),
    ),
)

TRAIN = Stage(
    "train",
    "Train",
    (
        Step(
            "runs",
            "Runs",
            "How is training going, and which run goes on to Evaluate?",
            "tui.screens.train.runs_step:TrainRunsScreen",
        ),
    ),
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
