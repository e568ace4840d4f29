"""The two-line rail at the top: the journey, and the steps of the current stage."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.widget import Widget

from tui.journey import JOURNEY, Position


class StepRail(Widget):
    """Shows ``Decide › Dataset › ...`` with upcoming stages dimmed, and the current stage's steps."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "step-rail--current",
        "step-rail--done",
        "step-rail--todo",
        "step-rail--upcoming",
        "step-rail--separator",
    }

    DEFAULT_CSS = """
    StepRail {
        height: 2;
        padding: 0 1;
    }
    """

    def __init__(self, position: Position, furthest: Position, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.position = position
        self.furthest = max(position, furthest)

    def render(self) -> Text:
        style = self.get_component_rich_style
        current, upcoming = style("step-rail--current"), style("step-rail--upcoming")
        journey = Text(no_wrap=True, overflow="ellipsis")
        for index, stage in enumerate(JOURNEY):
            if index:
                journey.append(" › ", style("step-rail--separator"))
            if index == self.position.stage:
                journey.append(f" {stage.title} ", current)
            elif not stage.available:
                journey.append(stage.title, upcoming)
            elif index <= self.furthest.stage:
                journey.append(f"✓{stage.title}", style("step-rail--done"))
            else:
                journey.append(stage.title, style("step-rail--todo"))
        if any(not stage.available for stage in JOURNEY):
            journey.append("   (dim: upcoming)", upcoming)

        steps = Text(no_wrap=True, overflow="ellipsis")
        for index, step in enumerate(self.position.stage_info.steps):
            if index:
                steps.append("  ")
            label = f"{index + 1} {step.title}"
            here = Position(self.position.stage, index)
            if index == self.position.step:
                steps.append(f"▸{label}", current)
            elif here <= self.furthest:
                steps.append(f"✓{label}", style("step-rail--done"))
            else:
                steps.append(f" {label}", style("step-rail--todo"))
        return Text("\n").join([journey, steps])
