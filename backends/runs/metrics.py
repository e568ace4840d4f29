"""Loss curves analysed: smoothing, downsampling for drawing, ETA, best loss, overfitting.

Pure functions over plain sequences (steps and losses), no I/O and no UI:
the monitor, the runs list and the CLI all call them, and tests check them
against values computed by hand.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

OVERFIT_MIN_RISING = 3
"""Consecutive evaluations with a higher validation loss before the alert shows."""
OVERFIT_MIN_RISE = 0.02
"""...and the rise, relative to the lowest point it started from (2 %), so noise does not alert."""


def ema(values: Sequence[float], weight: float, *, previous: float | None = None) -> list[float]:
    """Exponential moving average, TensorBoard-style: ``s_i = weight * s_(i-1) + (1 - weight) * v_i``.

    ``weight`` 0 returns the values unchanged; 0.9 smooths a lot. The first
    value starts the average (``s_0 = v_0``) unless ``previous`` continues an
    average computed earlier over the values before these: the same result,
    computed incrementally.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), not {weight}")
    out: list[float] = []
    last = previous
    keep = 1.0 - weight
    append = out.append
    for value in values:
        last = value if last is None else weight * last + keep * value
        append(last)
    return out


def minmax_downsample(
    xs: Sequence[float],
    ys: Sequence[float],
    buckets: int,
    *,
    x_range: tuple[float, float] | None = None,
) -> tuple[list[float], list[float]]:
    """At most about ``2 * buckets`` points that draw like all of them.

    The x range (``x_range``, else first to last x) is cut into ``buckets``
    equal slices, one per column of the drawing; each slice keeps its lowest
    and its highest point, in x order, so a spike or a dip is never lost. The
    first and the last point are always kept, so the line ends where the data
    ends. Slices are fixed by x, not by count: appending points changes only
    the last slices, and a drawing of the result changes only where the data
    did. ``xs`` must be sorted; with few enough points they are returned as is.
    """
    n = len(xs)
    if n != len(ys):
        raise ValueError(f"{n} steps but {len(ys)} values")
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    if n <= 2 * buckets:
        return list(xs), list(ys)
    low_x, high_x = x_range if x_range is not None else (xs[0], xs[-1])
    width = (high_x - low_x) / buckets if high_x > low_x else 1.0
    keep: list[int] = [0]
    start = 0
    while start < n:
        bucket = min(buckets - 1, max(0, int((xs[start] - low_x) / width)))
        end = n if bucket == buckets - 1 else bisect_left(xs, low_x + (bucket + 1) * width, start)
        end = max(end, start + 1)
        segment = ys[start:end]
        low_at = start + segment.index(min(segment))
        high_at = start + segment.index(max(segment))
        keep.extend((low_at, high_at) if low_at <= high_at else (high_at, low_at))
        start = end
    keep.append(n - 1)
    out_x: list[float] = []
    out_y: list[float] = []
    previous = -1
    for index in keep:
        if index != previous:
            out_x.append(xs[index])
            out_y.append(ys[index])
            previous = index
    return out_x, out_y


def nice_bounds(low: float, high: float, *, steps: int = 10) -> tuple[float, float]:
    """``low`` and ``high`` widened to a round grid (about ``steps`` grid steps between them).

    An axis drawn to these bounds keeps its ticks while new values stay
    inside: a live plot need not be redrawn for every new extreme.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("bounds must be finite")
    if high <= low:
        pad = abs(low) * 0.05 or 0.5
        return low - pad, high + pad
    raw = (high - low) / steps
    unit = 10 ** math.floor(math.log10(raw))
    step = next(unit * m for m in (1, 2, 5, 10) if unit * m >= raw * (1 - 1e-9))
    return (
        round(math.floor(low / step + 1e-9) * step, 12),
        round(math.ceil(high / step - 1e-9) * step, 12),
    )


def window_start(steps: Sequence[int], last_steps: int | None) -> int:
    """Index of the first point within the last ``last_steps`` steps (0 for the whole run)."""
    if not steps or last_steps is None:
        return 0
    return bisect_left(steps, steps[-1] - last_steps)


def best_loss(steps: Sequence[int], losses: Sequence[float]) -> tuple[float, int] | None:
    """The lowest loss and its step (the first one on a tie); ``None`` without points."""
    if not losses:
        return None
    low = min(losses)
    return low, steps[losses.index(low)]


def seconds_per_step(
    steps: Sequence[int], times: Sequence[float], *, window: int = 50
) -> float | None:
    """The recent pace, from the last ``window`` points' own timestamps (never the wall clock)."""
    if len(steps) != len(times):
        raise ValueError(f"{len(steps)} steps but {len(times)} times")
    if len(steps) < 2:
        return None
    first = max(0, len(steps) - window)
    done = steps[-1] - steps[first]
    spent = times[-1] - times[first]
    if done <= 0 or spent < 0:
        return None
    return spent / done


def eta_seconds(
    steps: Sequence[int], times: Sequence[float], total_steps: int | None, *, window: int = 50
) -> float | None:
    """Seconds left at the recent pace; ``None`` when the total or the pace is unknown."""
    if not total_steps or not steps:
        return None
    pace = seconds_per_step(steps, times, window=window)
    if pace is None:
        return None
    return max(0, total_steps - steps[-1]) * pace


@dataclass(frozen=True)
class OverfitAlert:
    """Validation loss rising while training loss falls."""

    rising_evals: int
    """Consecutive evaluations at which validation loss went up."""
    valid_from: float
    valid_to: float
    train_from: float
    train_to: float
    best_valid_loss: float
    best_valid_step: int
    series: str = "validation"
    """Which validation loss rose (``validation`` or ``full validation``)."""

    @property
    def message(self) -> str:
        return (
            f"Overfitting: {self.series} loss rose for {self.rising_evals} evaluations in a row "
            f"({self.valid_from:.4g} → {self.valid_to:.4g}) while training loss fell "
            f"({self.train_from:.4g} → {self.train_to:.4g})."
        )

    @property
    def suggestions(self) -> tuple[str, ...]:
        return (
            "train fewer epochs",
            "lower the learning rate",
            f"use the checkpoint at step {self.best_valid_step} "
            f"(best {self.series} loss {self.best_valid_loss:.4g})",
        )

    @property
    def advice(self) -> str:
        return "Try: " + "; ".join(self.suggestions) + "."


def _mean_train_between(
    train_steps: Sequence[int], train_losses: Sequence[float], after: float, upto: float
) -> float | None:
    """Mean training loss over the steps in ``(after, upto]``."""
    lo = bisect_right(train_steps, after)
    hi = bisect_right(train_steps, upto)
    if hi <= lo:
        return None
    return math.fsum(train_losses[lo:hi]) / (hi - lo)


def detect_overfitting(
    train_steps: Sequence[int],
    train_losses: Sequence[float],
    valid_steps: Sequence[int],
    valid_losses: Sequence[float],
    *,
    min_rising: int = OVERFIT_MIN_RISING,
    min_rise: float = OVERFIT_MIN_RISE,
    series: str = "validation",
) -> OverfitAlert | None:
    """An alert when validation loss rose at the last ``min_rising`` evaluations or more, by at
    least ``min_rise`` of its value where the rise began, while training loss fell.

    Training loss is compared as the mean over the steps leading to the
    evaluation where the rise began, against the mean over the steps leading
    to the last evaluation (a single training step is too noisy to compare).
    """
    n = len(valid_losses)
    if n < min_rising + 1 or not train_losses:
        return None
    rising = 0
    for index in range(n - 1, 0, -1):
        if valid_losses[index] > valid_losses[index - 1]:
            rising += 1
        else:
            break
    if rising < min_rising:
        return None
    start = n - 1 - rising
    valid_from, valid_to = valid_losses[start], valid_losses[-1]
    if valid_to - valid_from < min_rise * abs(valid_from):
        return None
    before_start = valid_steps[start - 1] if start > 0 else -math.inf
    train_from = _mean_train_between(train_steps, train_losses, before_start, valid_steps[start])
    train_to = _mean_train_between(train_steps, train_losses, valid_steps[-2], valid_steps[-1])
    if train_from is None or train_to is None or train_to >= train_from:
        return None
    best = best_loss(valid_steps, valid_losses)
    assert best is not None
    return OverfitAlert(
        rising_evals=rising,
        valid_from=valid_from,
        valid_to=valid_to,
        train_from=train_from,
        train_to=train_to,
        best_valid_loss=best[0],
        best_valid_step=best[1],
        series=series,
    )
