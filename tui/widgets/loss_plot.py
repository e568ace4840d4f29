"""The loss plot: training, validation and full-validation loss against step.

The data lives in a ``LossHistory`` (every point, kept); drawing downsamples
it to about two points per column (``minmax_downsample`` keeps the extremes),
so a 100,000-point run draws as fast as a 100-point one. The plot is rebuilt
only when its data, its options, its size or the theme changed; the monitor
decides when (a timer, only when new points arrived).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from backends.runs.metrics import ema, minmax_downsample, nice_bounds, window_start
from backends.runs.watch import (
    FULL_VALID,
    LOSS,
    METRIC_LABELS,
    METRIC_SERIES,
    SERIES,
    SERIES_LABELS,
    TRAIN,
    VALID,
    LossHistory,
)

SMOOTHING_CHOICES: tuple[float, ...] = (0.6, 0.9, 0.0)
"""EMA weights the smoothing key cycles through (0: raw points only)."""
SERIES_CHOICES: dict[str, tuple[str, ...]] = {
    "all": SERIES,
    "train": (TRAIN,),
    "validation": (VALID, FULL_VALID),
}
ZOOM_CHOICES: tuple[int | None, ...] = (None, 1000, 100)
"""Steps shown: the whole run, or the last N steps."""

MARKERS = {
    TRAIN: "braille",
    VALID: "hd",
    FULL_VALID: "dot",
    "train_margins": "braille",
    "valid_margins": "hd",
    "train_reward_acc": "braille",
    "valid_reward_acc": "hd",
    "train_chosen": "braille",
    "train_rejected": "dot",
    "valid_chosen": "hd",
    "valid_rejected": "sd",
}
"""Different marks, so the curves stay apart without colour (``NO_COLOR``)."""
THEME_COLORS = {
    TRAIN: "primary",
    VALID: "warning",
    FULL_VALID: "success",
    "train_margins": "primary",
    "valid_margins": "warning",
    "train_reward_acc": "primary",
    "valid_reward_acc": "warning",
    "train_chosen": "success",
    "train_rejected": "error",
    "valid_chosen": "primary",
    "valid_rejected": "warning",
}


def shown_series(metric: str, series: str) -> tuple[str, ...]:
    """The curves of ``metric`` the series choice keeps (all, train only, validation only)."""
    if metric == LOSS:
        return SERIES_CHOICES[series]
    names = METRIC_SERIES[metric]
    if series == "train":
        return tuple(n for n in names if n.startswith(TRAIN))
    if series == "validation":
        return tuple(n for n in names if n.startswith(VALID))
    return names


def _next(choices: tuple[Any, ...], current: Any) -> Any:
    index = choices.index(current) if current in choices else -1
    return choices[(index + 1) % len(choices)]


@dataclass(frozen=True)
class PlotOptions:
    smoothing: float = SMOOTHING_CHOICES[0]
    log_scale: bool = False
    series: str = "all"
    last_steps: int | None = None
    metric: str = LOSS
    """The loss, or one of DPO's reward views (``backends.runs.watch.METRICS``)."""

    def next_smoothing(self) -> PlotOptions:
        return replace(self, smoothing=_next(SMOOTHING_CHOICES, self.smoothing))

    def toggle_log(self) -> PlotOptions:
        return replace(self, log_scale=not self.log_scale)

    def next_series(self) -> PlotOptions:
        return replace(self, series=_next(tuple(SERIES_CHOICES), self.series))

    def next_zoom(self) -> PlotOptions:
        return replace(self, last_steps=_next(ZOOM_CHOICES, self.last_steps))

    def next_metric(self, available: tuple[str, ...]) -> PlotOptions:
        """The next view among ``available`` (the loss, then DPO's reward views)."""
        return replace(self, metric=_next(available, self.metric))

    def describe(self, metrics: tuple[str, ...] = (LOSS,)) -> str:
        smooth = f"smoothing {self.smoothing:g}" if self.smoothing else "no smoothing"
        zoom = "whole run" if self.last_steps is None else f"last {self.last_steps:,} steps"
        scale = "log" if self.log_scale else "linear"
        shown = f"[b]s[/b] {smooth} · [b]l[/b] {scale} · [b]v[/b] {self.series} · [b]z[/b] {zoom}"
        if len(metrics) > 1:
            shown = f"[b]g[/b] {METRIC_LABELS[self.metric]} · " + shown
        return shown


def step_ticks(low: int, high: int, count: int) -> list[int]:
    """``count`` whole steps from ``low`` to ``high`` (steps are integers: no ``22.5``)."""
    if high <= low:
        return [low]
    return sorted({round(low + index * (high - low) / (count - 1)) for index in range(count)})


def log_ticks(low: float, high: float, count: int) -> list[float]:
    """``count`` evenly spaced positions in log10 space from ``low`` to ``high``."""
    return [low + index * (high - low) / (count - 1) for index in range(count)]


class LossPlot(PlotextPlot):
    """A ``PlotextPlot`` that draws a ``LossHistory``, rebuilt only when the picture changes.

    Each redraw starts from a plan: the downsampled curves, the axis bounds
    (rounded outward, so they hold while new values stay inside) and where
    every point lands on the canvas. A plan with the same landing cells as the
    drawing on screen would draw the same picture, so nothing is rebuilt.
    """

    def __init__(self, history: LossHistory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.options = PlotOptions()
        self.draws = 0
        """How many times the plot was actually rebuilt (tests and the benchmark read it)."""
        self.last_build_s = 0.0
        self._smoothed: dict[tuple[str, float], list[float]] = {}
        self._cache_key: tuple[object, ...] | None = None
        """The signature of the plan last drawn."""
        self._cache: Text = Text()

    def set_options(self, options: PlotOptions) -> None:
        if options != self.options:
            self.options = options
            self.refresh()

    def smoothed(self, name: str, weight: float) -> list[float]:
        """The EMA of a series, extended incrementally as points arrive."""
        values = self.history.series[name].values
        cached = self._smoothed.get((name, weight))
        if cached is None or len(cached) > len(values):
            cached = []
        if len(cached) < len(values):
            previous = cached[-1] if cached else None
            cached.extend(ema(values[len(cached) :], weight, previous=previous))
        self._smoothed[(name, weight)] = cached
        return cached

    # --- drawing --------------------------------------------------------------
    def update_data(self) -> bool:
        """New points arrived: redraw if, and only if, the picture changes; says whether it does."""
        plan = self._plan(self.size.width, self.size.height)
        if plan is not None and plan.signature == self._cache_key:
            return False
        self.refresh()
        return True

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        plan = self._plan(width, height)
        if plan is None:
            self._cache_key = None
            what = "loss" if self.options.metric == LOSS else METRIC_LABELS[self.options.metric]
            return Text(f"No {what} logged yet.", justify="center", style="dim")
        if plan.signature == self._cache_key:
            return self._cache
        started = time.perf_counter()
        self._cache = self._build(plan, width, height)
        self.last_build_s = time.perf_counter() - started
        self._cache_key = plan.signature
        self.draws += 1
        return self._cache

    def _colors(self) -> dict[str, tuple[int, int, int]]:
        variables = self.app.theme_variables
        colors = {name: Color.parse(variables[var]).rgb for name, var in THEME_COLORS.items()}
        faint = Color.parse(variables["foreground"]).blend(Color.parse(variables["surface"]), 0.7)
        colors["raw"] = faint.rgb
        return colors

    def _plan(self, width: int, height: int) -> _Plan | None:
        """What to draw, downsampled to the columns there are; ``None`` when there is nothing."""
        history = self.history
        if history.count == 0 or width < 10 or height < 4:
            return None
        options = self.options
        last_step = history.last_step or 0
        if options.last_steps is None:
            x_low, x_high = 0, max(history.total_steps or 0, last_step, 1)
        else:
            x_low, x_high = max(0, last_step - options.last_steps), max(last_step, 1)
        columns = max(8, width - 10) * 2  # braille: two dots across per cell
        curves: list[_Curve] = []
        for name in shown_series(options.metric, options.series):
            series = history.series[name]
            if not len(series):
                continue
            start = window_start(series.steps, options.last_steps)
            steps, values = series.steps[start:], series.values[start:]
            raw: tuple[list[float], list[float]] = ([], [])
            line = values
            if options.smoothing and len(series) > 2:
                line = self.smoothed(name, options.smoothing)[start:]
                raw = self._positive(
                    *minmax_downsample(steps, values, columns, x_range=(x_low, x_high))
                )
            xs, ys = self._positive(
                *minmax_downsample(steps, line, columns, x_range=(x_low, x_high))
            )
            if xs:
                curves.append(_Curve(name, xs, self._scaled(ys), raw[0], self._scaled(raw[1])))
        if not curves:
            return None
        every_y = [y for curve in curves for y in (*curve.ys, *curve.raw_ys)]
        y_low, y_high = nice_bounds(min(every_y), max(every_y))
        # Where each point lands on the canvas: the picture changes only when one of these does.
        x_scale = columns / (x_high - x_low)
        y_scale = max(4, (height - 4) * 4) / (y_high - y_low)

        def cells(xs: list[float], ys: list[float]) -> tuple[tuple[int, int], ...]:
            return tuple(
                (round((x - x_low) * x_scale), round((y - y_low) * y_scale))
                for x, y in zip(xs, ys, strict=True)
            )

        signature = (
            width,
            height,
            options,
            self.app.theme,
            x_low,
            x_high,
            y_low,
            y_high,
            tuple((c.name, cells(c.xs, c.ys), cells(c.raw_xs, c.raw_ys)) for c in curves),
        )
        return _Plan(curves, x_low, x_high, y_low, y_high, signature)

    def _build(self, plan: _Plan, width: int, height: int) -> Text:
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        colors = self._colors()
        for curve in plan.curves:
            if curve.raw_xs:
                plt.scatter(curve.raw_xs, curve.raw_ys, marker="braille", color=colors["raw"])
        for curve in plan.curves:
            plt.plot(
                curve.xs,
                curve.ys,
                marker=MARKERS[curve.name],
                color=colors[curve.name],
                label=SERIES_LABELS[curve.name],
            )
        plt.xlim(plan.x_low, plan.x_high)
        plt.xticks(step_ticks(plan.x_low, plan.x_high, 5 if width >= 60 else 3))
        plt.ylim(plan.y_low, plan.y_high)
        if self.options.log_scale:  # drawn as log10 values, labelled as losses
            ticks = log_ticks(plan.y_low, plan.y_high, max(2, min(6, height // 4)))
            plt.yticks(ticks, [f"{10**tick:.3g}" for tick in ticks])
        plt.xlabel("step")
        if self.options.metric != LOSS:
            plt.title(METRIC_LABELS[self.options.metric])
        return Text.from_ansi(plt.build(), no_wrap=True)

    def _scaled(self, ys: list[float]) -> list[float]:
        """Values as drawn: their log10 on a log scale (plotext's own log axis is not used)."""
        return [math.log10(y) for y in ys] if self.options.log_scale else ys

    def _positive(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        """On a log scale, only values above zero can be drawn."""
        if not self.options.log_scale:
            return xs, ys
        kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
        return [x for x, _ in kept], [y for _, y in kept]


@dataclass(frozen=True)
class _Curve:
    name: str
    xs: list[float]
    ys: list[float]
    raw_xs: list[float] = field(default_factory=list)
    raw_ys: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    curves: list[_Curve]
    x_low: int
    x_high: int
    y_low: float
    y_high: float
    signature: tuple[object, ...]
