"""Beside the loss plot: the state badge, progress, the live figures, and a summary at the end.

Tall (the side panel of a wide terminal): one figure per line. Wide and short
(under the plot on a narrow terminal): the same figures flow across the
width, so the panel takes two or three lines and the plot keeps the room.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from backends.gpu import GpuReading
from backends.runs.figures import RunFigures, format_duration, format_loss
from backends.runs.values import RunState

BADGE_STATES: tuple[str, ...] = (*(state.value for state in RunState), "reconnecting")
FLOW_FROM_WIDTH = 60
"""At least this wide: the figures flow across lines instead of one per line."""

Chip = tuple[str, str]
"""``(label, value)``; an empty label is a value on its own."""


def progress_bar(fraction: float, width: int) -> str:
    """``━━━━━━━───────``: a bar made of text, full at 1.0."""
    width = max(1, width)
    filled = round(fraction * width)
    return "━" * filled + "─" * (width - filled)


def badge_of(figures: RunFigures) -> str:
    """The word on the badge: the state, or ``reconnecting`` while a follower retries."""
    if figures.reconnecting and figures.state.is_active:
        return "reconnecting"
    return figures.state.value


def _number(value: float | None, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


def _step_text(figures: RunFigures) -> str:
    if figures.step is None:
        return "—"
    if figures.total_steps:
        return f"{figures.step:,} / {figures.total_steps:,}"
    return f"{figures.step:,}"


def _epoch_text(figures: RunFigures) -> str | None:
    if figures.epoch is None:
        return None
    if figures.total_epochs:
        return f"{figures.epoch:.2f} / {figures.total_epochs:g}"
    return f"{figures.epoch:.2f}"


def live_chips(figures: RunFigures, gpus: Sequence[GpuReading]) -> list[Chip]:
    chips: list[Chip] = [("step", _step_text(figures))]
    epoch = _epoch_text(figures)
    if epoch:
        chips.append(("epoch", epoch))
    chips.append(("elapsed", format_duration(figures.elapsed_s)))
    chips.append(("ETA", format_duration(figures.eta_s)))
    chips.append(("loss", format_loss(figures.train_loss)))
    if figures.valid_loss is not None:
        chips.append(("valid", format_loss(figures.valid_loss)))
    if figures.full_valid_loss is not None:
        chips.append(("full valid", format_loss(figures.full_valid_loss)))
    if figures.best_valid is not None:
        loss, step = figures.best_valid
        chips.append((figures.best_valid_label, f"{loss:.4f} @ {step:,}"))
    chips.extend(reward_chips(figures))
    if figures.learning_rate is not None:
        chips.append(("lr", f"{figures.learning_rate:.2e}"))
    if figures.tokens_per_s is not None:
        chips.append(("tokens/s", _number(figures.tokens_per_s)))
    if figures.hosted:
        chips.extend(_money_chips(figures))
    for gpu in gpus:
        chips.append(("", gpu.describe()))
    return chips


def reward_chips(figures: RunFigures) -> list[Chip]:
    """DPO's reward margin and accuracy (train, and validation when evaluated); none for SFT."""
    chips: list[Chip] = []
    for label, margin, accuracy in (
        ("", figures.reward_margin, figures.reward_accuracy),
        ("valid ", figures.valid_reward_margin, figures.valid_reward_accuracy),
    ):
        if margin is not None:
            chips.append((f"{label}margin", f"{margin:+.4f}"))
        if accuracy is not None:
            chips.append((f"{label}reward acc", f"{accuracy:.0%}"))
    return chips


def _money_chips(figures: RunFigures) -> list[Chip]:
    tokens = (
        "reported at the end" if figures.trained_tokens is None else f"{figures.trained_tokens:,}"
    )
    chips: list[Chip] = [("tokens", tokens)]
    if figures.cost_usd is not None:
        chips.append(("cost", f"${figures.cost_usd:,.2f}"))
    elif figures.price_per_million is not None:
        chips.append(("price", f"${figures.price_per_million:g}/1M tokens"))
    return chips


def summary_chips(figures: RunFigures) -> list[Chip]:
    chips: list[Chip] = [("final loss", format_loss(figures.train_loss))]
    if figures.valid_loss is not None:
        chips.append(("valid", format_loss(figures.valid_loss)))
    if figures.full_valid_loss is not None:
        chips.append(("full valid", format_loss(figures.full_valid_loss)))
    if figures.best_valid is not None:
        loss, step = figures.best_valid
        chips.append((figures.best_valid_label, f"{loss:.4f} @ {step:,}"))
    chips.extend(reward_chips(figures))
    chips.append(("steps", _step_text(figures)))
    chips.append(("time", format_duration(figures.elapsed_s)))
    if figures.hosted:
        chips.extend(_money_chips(figures))
    elif figures.trained_tokens is not None:
        chips.append(("tokens", f"{figures.trained_tokens:,}"))
    if figures.checkpoints:
        chips.append(("checkpoints", str(figures.checkpoints)))
    if figures.fine_tuned_model:
        chips.append(("model", figures.fine_tuned_model))
    elif figures.output_dir:
        chips.append(("output", figures.output_dir))
    return chips


NEXT_STEP = "Next: e Evaluate ›"


class RunStats(Widget):
    """Renders a ``RunFigures`` (and GPU readings) for the monitor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "run-stats--label",
        "run-stats--value",
        "run-stats--heading",
        "run-stats--upcoming",
        "run-stats--bar",
        *(f"run-stats--badge-{state}" for state in BADGE_STATES),
    }

    DEFAULT_CSS = """
    RunStats {
        height: auto;
    }
    """

    def __init__(self, *, offers_next: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offers_next = offers_next
        """Show "Next: Evaluate ›" on success: only where the key for it works."""
        self.figures: RunFigures | None = None
        self.gpus: tuple[GpuReading, ...] = ()
        self._height = 0

    def show(self, figures: RunFigures, gpus: Sequence[GpuReading] = ()) -> None:
        if figures != self.figures or tuple(gpus) != self.gpus:
            self.figures = figures
            self.gpus = tuple(gpus)
            height = len(self.lines(self.size.width))
            # A new layout (costly: the whole screen) only when the panel's height changes.
            self.refresh(layout=height != self._height)
            self._height = height

    def render(self) -> Text:
        return Text("\n", no_wrap=True, overflow="ellipsis").join(self.lines(self.size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def lines(self, width: int) -> list[Text]:
        """The panel's lines at ``width`` cells (no line wraps: the count is the height)."""
        figures = self.figures
        if figures is None:
            return [Text("Reading the run folder…")]
        width = max(10, width)
        flow = width >= FLOW_FROM_WIDTH
        style = self.get_component_rich_style
        badge = badge_of(figures)
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f" {badge.upper()} ", style(f"run-stats--badge-{badge}"))
        finished = figures.state.is_terminal
        chips = summary_chips(figures) if finished else live_chips(figures, self.gpus)
        lines: list[Text] = []
        if flow:
            head.append(f" {figures.model} · {figures.backend}", style("run-stats--label"))
        else:
            head.append(f" {figures.backend}", style("run-stats--label"))
            lines.extend((head, Text(figures.model, style=style("run-stats--value"))))
        if not finished and figures.progress is not None:
            bar_width = 16 if flow else width - 6
            bar = Text(no_wrap=True)
            bar.append(progress_bar(figures.progress, bar_width), style("run-stats--bar"))
            bar.append(f" {figures.progress:4.0%}", style("run-stats--value"))
            if flow:
                head.append("  ")
                head.append_text(bar)
            else:
                lines.append(bar)
        if finished and not flow:
            lines.append(Text("Summary", style=style("run-stats--heading")))
        label, value = style("run-stats--label"), style("run-stats--value")
        upcoming = style("run-stats--upcoming")
        next_step = self.offers_next and figures.state is RunState.SUCCEEDED
        if flow:
            if next_step:
                chips.append(("", NEXT_STEP))
            lines.extend(self._flow(head, chips, width, label, value, upcoming))
        else:
            lines.extend(self._column(chips, width, label, value))
            if next_step:
                lines.append(Text(NEXT_STEP, style=upcoming))
        if figures.detail and not finished:
            lines.append(Text(figures.detail, style=label, overflow="ellipsis", no_wrap=True))
        for line in lines:  # one line each, whatever renders them: the count is the height
            line.truncate(width, overflow="ellipsis")
        return lines

    @staticmethod
    def _chip(chip: Chip, label: Style, value: Style) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if chip[0]:
            text.append(f"{chip[0]} ", label)
        text.append(chip[1], value)
        return text

    def _column(self, chips: list[Chip], width: int, label: Style, value: Style) -> list[Text]:
        """One chip per line; a chip too long for the panel wraps onto the next lines."""
        lines: list[Text] = []
        for chip in chips:
            text = self._chip(chip, label, value)
            if text.cell_len <= width:
                lines.append(text)
            else:
                text.no_wrap = False
                lines.extend(text.wrap(self.app.console, width, overflow="fold"))
        return lines

    def _flow(
        self,
        head: Text,
        chips: list[Chip],
        width: int,
        label: Style,
        value: Style,
        upcoming: Style,
    ) -> list[Text]:
        """The head, then the chips, filling each line before starting the next."""
        lines: list[Text] = []
        line = head
        for chip in chips:
            piece = self._chip(chip, label, upcoming if chip[1].startswith("Next:") else value)
            if line.cell_len and line.cell_len + 3 + piece.cell_len > width:
                lines.append(line)
                line = Text(no_wrap=True, overflow="ellipsis")
            if line.cell_len:
                line.append("   ")
            line.append_text(piece)
        if line.cell_len:
            lines.append(line)
        return lines
