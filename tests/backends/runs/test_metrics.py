"""The analysis functions against values computed by hand."""

from __future__ import annotations

import pytest

from backends.runs.metrics import (
    best_loss,
    detect_overfitting,
    ema,
    eta_seconds,
    minmax_downsample,
    nice_bounds,
    seconds_per_step,
    window_start,
)


def test_ema_by_hand() -> None:
    # s0 = 4; s1 = 0.5*4 + 0.5*2 = 3; s2 = 0.5*3 + 0.5*6 = 4.5; s3 = 0.5*4.5 + 0.5*0 = 2.25
    assert ema([4, 2, 6, 0], 0.5) == [4, 3, 4.5, 2.25]
    assert ema([4, 2, 6], 0.0) == [4, 2, 6]
    assert ema([], 0.9) == []


def test_ema_continues_incrementally() -> None:
    whole = ema([4, 2, 6, 0, 8], 0.75)
    first = ema([4, 2], 0.75)
    assert first + ema([6, 0, 8], 0.75, previous=first[-1]) == whole
    # s1 = 0.75*4 + 0.25*2 = 3.5
    assert whole[1] == 3.5


def test_ema_rejects_a_weight_of_one() -> None:
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_downsampling_keeps_extremes_first_and_last() -> None:
    xs = list(range(10))
    ys = [0, 5, 1, 1, 9, 2, 2, 0, 3, 4]
    # two slices of x: [0, 4.5) keeps min 0 @0 and max 9 @4; [4.5, 9] min 0 @7, max 4 @9
    assert minmax_downsample(xs, ys, 2) == ([0, 4, 7, 9], [0, 9, 0, 4])
    assert minmax_downsample(xs, ys, 5) == (xs, ys)  # 10 points fit 2 * 5


def test_downsampling_a_long_run_keeps_a_single_spike() -> None:
    n = 100_000
    xs = list(range(n))
    ys = [1.0] * n
    ys[54_321] = 50.0
    ys[77_777] = -3.0
    out_x, out_y = minmax_downsample(xs, ys, 100)
    assert len(out_x) <= 2 * 100 + 2
    assert (54_321, 50.0) in zip(out_x, out_y, strict=True)
    assert (77_777, -3.0) in zip(out_x, out_y, strict=True)
    assert out_x[0] == 0 and out_x[-1] == n - 1
    assert out_x == sorted(out_x)


def test_downsampling_slices_are_fixed_by_x_range() -> None:
    xs = list(range(1, 21))
    ys = [float(x % 7) for x in xs]
    before = minmax_downsample(xs, ys, 4, x_range=(0, 100))
    after = minmax_downsample([*xs, 21], [*ys, 0.0], 4, x_range=(0, 100))
    # all points sit in the first of four 25-step slices: first, min, max and last are kept
    assert before == ([1, 6, 7, 20], [1.0, 6.0, 0.0, 6.0])
    assert after == ([1, 6, 7, 21], [1.0, 6.0, 0.0, 0.0])


def test_nice_bounds() -> None:
    # range 1.958 → about 0.196 per step → 0.2; 0.412 rounds down to 0.4, 2.37 up to 2.4
    assert nice_bounds(0.412, 2.37) == (0.4, 2.4)
    assert nice_bounds(1.0, 1.0) == (0.95, 1.05)
    assert nice_bounds(0.31, 0.33) == (0.31, 0.33)


def test_window_and_best() -> None:
    steps = [10, 20, 30, 40, 50]
    assert window_start(steps, None) == 0
    assert window_start(steps, 20) == 2  # from step 30 on
    assert best_loss(steps, [3.0, 2.0, 2.5, 2.0, 4.0]) == (2.0, 20)
    assert best_loss([], []) is None


def test_pace_and_eta_from_logged_times() -> None:
    steps, times = [1, 2, 3, 4, 5], [0.0, 2.0, 4.0, 6.0, 8.0]
    assert seconds_per_step(steps, times) == 2.0
    assert eta_seconds(steps, times, 10) == 10.0  # 5 steps left at 2 s
    assert eta_seconds(steps, times, None) is None
    assert eta_seconds(steps[:1], times[:1], 10) is None
    assert seconds_per_step(steps, times, window=2) == 2.0


TRAIN_STEPS = list(range(1, 51))
TRAIN = [2.0 - 0.02 * s for s in TRAIN_STEPS]  # falls steadily: 1.98 ... 1.0


def test_overfitting_detected_with_hand_computed_figures() -> None:
    valid_steps = [10, 20, 30, 40, 50]
    valid = [1.5, 1.2, 1.25, 1.3, 1.4]  # best at 20, then three rises (+16.7 %)
    alert = detect_overfitting(TRAIN_STEPS, TRAIN, valid_steps, valid)
    assert alert is not None
    assert alert.rising_evals == 3
    assert (alert.valid_from, alert.valid_to) == (1.2, 1.4)
    assert (alert.best_valid_loss, alert.best_valid_step) == (1.2, 20)
    # mean train over steps 11-20: 2 - 0.02 * 15.5 = 1.69; over 41-50: 2 - 0.02 * 45.5 = 1.09
    assert alert.train_from == pytest.approx(1.69)
    assert alert.train_to == pytest.approx(1.09)
    assert "rose for 3 evaluations" in alert.message
    assert "checkpoint at step 20" in alert.advice
    assert "fewer epochs" in alert.advice and "lower the learning rate" in alert.advice


@pytest.mark.parametrize(
    ("valid", "why"),
    [
        ([1.5, 1.2, 1.25, 1.3, 1.28], "the last evaluation went down"),
        ([1.5, 1.4, 1.2, 1.25, 1.3], "only two rises"),
        ([1.5, 1.2, 1.201, 1.202, 1.203], "a rise of 0.25 % is noise"),
    ],
)
def test_no_alert(valid: list[float], why: str) -> None:
    assert detect_overfitting(TRAIN_STEPS, TRAIN, [10, 20, 30, 40, 50], valid) is None, why


def test_no_alert_when_training_loss_rises_too() -> None:
    rising_train = [1.0 + 0.02 * s for s in TRAIN_STEPS]
    valid = [1.5, 1.2, 1.25, 1.3, 1.4]
    assert detect_overfitting(TRAIN_STEPS, rising_train, [10, 20, 30, 40, 50], valid) is None
