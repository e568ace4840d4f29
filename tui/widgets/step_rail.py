"""The two-line rail at the top: the journey, and the steps of the current stage."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.journey import DECIDE_STEPS, JOURNEY


class StepRail(Widget):
    """Shows ``Decide › Dataset › ...`` with upcoming stages dimmed, and the Decide steps."""

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

    step: reactive[int] = reactive(0)
    """Index into ``DECIDE_STEPS`` of the step on screen."""
    visited: reactive[int] = reactive(0)
    """The furthest step reached so far."""

    def __init__(self, step: int = 0, visited: int = 0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.set_reactive(StepRail.step, step)
        self.set_reactive(StepRail.visited, max(step, visited))

    def render(self) -> Text:
        style = self.get_component_rich_style
        current, upcoming = style("step-rail--current"), style("step-rail--upcoming")
        separator = style("step-rail--separator")
        journey = Text(no_wrap=True, overflow="ellipsis")
        for index, stage in enumerate(JOURNEY):
            if index:
                journey.append(" › ", separator)
            if stage.key == "decide":
                journey.append(f" {stage.title} ", current)
            else:
                journey.append(stage.title, upcoming)
        journey.append("   (dim: upcoming)", upcoming)

        steps = Text(no_wrap=True, overflow="ellipsis")
        for index, step in enumerate(DECIDE_STEPS):
            if index:
                steps.append("  ")
            label = f"{index + 1} {step.title}"
            if index == self.step:
                steps.append(f"▸{label}", current)
            elif index <= self.visited:
                steps.append(f"✓{label}", style("step-rail--done"))
            else:
                steps.append(f" {label}", style("step-rail--todo"))
        return Text("\n").join([journey, steps])
