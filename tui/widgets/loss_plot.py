"""The loss plot: training, validation and full-validation loss against step.

The data lives in a ``LossHistory`` (every point, kept); drawing downsamples
it to about two points per column (``minmax_downsample`` keeps the extremes),
so a 100,000-point run draws as fast as a 100-point one. The plot is rebuilt
only when its data, its options, its size or the theme changed; the monitor
decides when (a timer, only when new points arrived).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from backends.metrics_analysis import ema, minmax_downsample, window_start
from backends.run_watch import FULL_VALID, SERIES, SERIES_LABELS, TRAIN, VALID, LossHistory

SMOOTHING_CHOICES: tuple[float, ...] = (0.6, 0.9, 0.0)
"""EMA weights the smoothing key cycles through (0: raw points only)."""
SERIES_CHOICES: dict[str, tuple[str, ...]] = {
    "all": SERIES,
    "train": (TRAIN,),
    "validation": (VALID, FULL_VALID),
}
ZOOM_CHOICES: tuple[int | None, ...] = (None, 1000, 100)
"""Steps shown: the whole run, or the last N steps."""

MARKERS = {TRAIN: "braille", VALID: "hd", FULL_VALID: "dot"}
"""Different marks, so the curves stay apart without colour (``NO_COLOR``)."""
THEME_COLORS = {TRAIN: "primary", VALID: "warning", FULL_VALID: "success"}


def _next(choices: tuple[Any, ...], current: Any) -> Any:
    index = choices.index(current) if current in choices else -1
    return choices[(index + 1) % len(choices)]


@dataclass(frozen=True)
class PlotOptions:
    smoothing: float = SMOOTHING_CHOICES[0]
    log_scale: bool = False
    series: str = "all"
    last_steps: int | None = None

    def next_smoothing(self) -> PlotOptions:
        return replace(self, smoothing=_next(SMOOTHING_CHOICES, self.smoothing))

    def toggle_log(self) -> PlotOptions:
        return replace(self, log_scale=not self.log_scale)

    def next_series(self) -> PlotOptions:
        return replace(self, series=_next(tuple(SERIES_CHOICES), self.series))

    def next_zoom(self) -> PlotOptions:
        return replace(self, last_steps=_next(ZOOM_CHOICES, self.last_steps))

    def describe(self) -> str:
        smooth = f"smoothing {self.smoothing:g}" if self.smoothing else "no smoothing"
        zoom = "whole run" if self.last_steps is None else f"last {self.last_steps:,} steps"
        scale = "log" if self.log_scale else "linear"
        return f"[b]s[/b] {smooth} · [b]l[/b] {scale} · [b]v[/b] {self.series} · [b]z[/b] {zoom}"


def step_ticks(low: int, high: int, count: int) -> list[int]:
    """``count`` whole steps from ``low`` to ``high`` (steps are integers: no ``22.5``)."""
    if high <= low:
        return [low]
    return sorted({round(low + index * (high - low) / (count - 1)) for index in range(count)})


class LossPlot(PlotextPlot):
    """A ``PlotextPlot`` that draws a ``LossHistory`` and caches the drawing."""

    def __init__(self, history: LossHistory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history = history
        self.options = PlotOptions()
        self.draws = 0
        """How many times the plot was actually rebuilt (tests and the benchmark read it)."""
        self.last_build_s = 0.0
        self._smoothed: dict[tuple[str, float], list[float]] = {}
        self._cache_key: tuple[object, ...] | None = None
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
    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        key = (width, height, self.history.version, self.options, self.app.theme)
        if key == self._cache_key:
            return self._cache
        started = time.perf_counter()
        self._cache = self._build(width, height)
        self.last_build_s = time.perf_counter() - started
        self._cache_key = key
        self.draws += 1
        return self._cache

    def _colors(self) -> dict[str, tuple[int, int, int]]:
        variables = self.app.theme_variables
        colors = {name: Color.parse(variables[var]).rgb for name, var in THEME_COLORS.items()}
        faint = Color.parse(variables["foreground"]).blend(Color.parse(variables["surface"]), 0.7)
        colors["raw"] = faint.rgb
        return colors

    def _build(self, width: int, height: int) -> Text:
        history = self.history
        if history.count == 0 or width < 10 or height < 4:
            return Text("No loss logged yet.", justify="center", style="dim")
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        colors = self._colors()
        options = self.options
        buckets = max(8, width - 12)
        last_step = history.last_step or 0
        drawn = 0
        for name in SERIES_CHOICES[options.series]:
            series = history.series[name]
            if not len(series):
                continue
            start = window_start(series.steps, options.last_steps)
            steps = series.steps[start:]
            values = series.values[start:]
            line = values
            if options.smoothing and len(series) > 2:
                line = self.smoothed(name, options.smoothing)[start:]
                raw_x, raw_y = self._positive(*minmax_downsample(steps, values, buckets))
                plt.scatter(raw_x, raw_y, marker="braille", color=colors["raw"])
            xs, ys = self._positive(*minmax_downsample(steps, line, buckets))
            if not xs:
                continue
            plt.plot(xs, ys, marker=MARKERS[name], color=colors[name], label=SERIES_LABELS[name])
            drawn += 1
        if not drawn:
            return Text("Nothing to draw for these series.", justify="center", style="dim")
        total = history.total_steps
        if options.last_steps is None:
            low, high = 0, max(total or 0, last_step, 1)
        else:
            low, high = max(0, last_step - options.last_steps), max(last_step, 1)
        plt.xlim(low, high)
        plt.xticks(step_ticks(low, high, 5 if width >= 60 else 3))
        if options.log_scale:
            plt.yscale("log")
        plt.xlabel("step")
        return Text.from_ansi(plt.build(), no_wrap=True)

    def _positive(self, xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
        """On a log scale, only values above zero can be drawn."""
        if not self.options.log_scale:
            return xs, ys
        kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
        return [x for x, _ in kept], [y for _, y in kept]
