"""The figures a viewer shows beside a run's loss plot, computed from its folder's contents.

Every figure comes from the run folder (spec, status, logged points) and the
time ``now`` the caller passes in: nothing reads the wall clock, so the same
folder and the same ``now`` always give the same figures. A figure that is not
known is ``None`` and is shown as unknown, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends import registry
from backends.catalog import find_hosted
from backends.runs.metrics import OverfitAlert, eta_seconds
from backends.runs.status import RunStatus
from backends.runs.values import AUTO, RunSpec, RunState
from backends.runs.watch import FULL_VALID, VALID, LossHistory
from backends.text import printable_line

_EPOCH_HYPERPARAMETERS = ("n_epochs", "num_train_epochs", "epochs")
_TOKEN_KEYS = ("num_tokens", "trained_tokens", "tokens")


@dataclass(frozen=True)
class RunFigures:
    state: RunState
    backend: str
    model: str
    name: str
    reconnecting: bool = False
    detail: str = ""
    error: str | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    total_epochs: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    tokens_per_s: float | None = None
    learning_rate: float | None = None
    train_loss: float | None = None
    valid_loss: float | None = None
    full_valid_loss: float | None = None
    best_valid: tuple[float, int] | None = None
    """Lowest of the validation series judged by (``best_valid_label`` names it)."""
    best_valid_series: str = VALID
    trained_tokens: int | None = None
    price_per_million: float | None = None
    cost_usd: float | None = None
    fine_tuned_model: str | None = None
    output_dir: str | None = None
    checkpoints: int = 0
    alert: OverfitAlert | None = None
    reward_margin: float | None = None
    """DPO: the last training reward margin (chosen minus rejected)."""
    reward_accuracy: float | None = None
    valid_reward_margin: float | None = None
    valid_reward_accuracy: float | None = None

    @property
    def best_valid_label(self) -> str:
        """``best valid`` or ``best full valid``: the series the best was taken over."""
        return "best full valid" if self.best_valid_series == FULL_VALID else "best valid"

    @property
    def hosted(self) -> bool:
        return registry.is_hosted(self.backend)

    @property
    def progress(self) -> float | None:
        """Fraction of the steps done, when the total is known."""
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, max(0.0, self.step / self.total_steps))

    @property
    def output(self) -> str | None:
        """What the run produced: the fine-tuned model id (hosted) or the output folder (local)."""
        return self.fine_tuned_model or self.output_dir


def training_price(spec: RunSpec | None) -> float | None:
    """USD per 1M training tokens from the catalog (hosted runs with a per-token price)."""
    info = registry.find(spec.backend if spec is not None else None)
    if spec is None or info is None or not info.hosted or info.provider is None:
        return None
    entry = find_hosted(info.provider, spec.model)
    return entry.prices.training if entry is not None else None


def total_epochs(spec: RunSpec | None) -> float | None:
    if spec is None:
        return None
    for name in _EPOCH_HYPERPARAMETERS:
        value = spec.hyperparameters.get(name, AUTO)
        if value != AUTO and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _trained_tokens(status: RunStatus, history: LossHistory) -> int | None:
    if status.trained_tokens is not None:
        return int(status.trained_tokens)
    point = history.last_point
    if point is not None and point.extra:
        for key in _TOKEN_KEYS:
            value = point.extra.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value)
    return None


def _elapsed(status: RunStatus, history: LossHistory, now: float) -> float | None:
    if status.started_at is not None:
        end = status.ended_at if status.ended_at is not None else now
        if status.state.is_terminal and status.ended_at is None:
            point = history.last_point
            return point.elapsed if point is not None else None
        return max(0.0, end - status.started_at)
    point = history.last_point
    return point.elapsed if point is not None else None


def _output_dir(folder_output: Path | None) -> str | None:
    if folder_output is None:
        return None
    try:
        if folder_output.is_dir() and any(folder_output.iterdir()):
            return str(folder_output)
    except OSError:
        return None
    return None


def compute_figures(
    spec: RunSpec | None,
    status: RunStatus,
    history: LossHistory,
    *,
    now: float,
    output_dir: Path | None = None,
) -> RunFigures:
    """Everything the stats panel and the summary show, from what the run folder holds."""
    point = history.last_point
    total = status.total_steps or history.total_steps
    epochs = total_epochs(spec)
    epoch = point.epoch if point is not None else None
    if epoch is None and point is not None and epochs and total:
        epoch = epochs * point.step / total
    elif epoch is not None and point is not None and point.step > 0 and total:
        # Epochs from the planned steps: a run capped at max_steps ends before its epochs do.
        planned = epoch / point.step * total
        epochs = min(epochs, planned) if epochs else planned
    tokens = _trained_tokens(status, history)
    price = training_price(spec)
    cost = tokens * price / 1_000_000 if tokens is not None and price is not None else None
    eta = None
    if status.state.is_active:
        eta = eta_seconds(history.time_steps, history.times, total)
        if eta is None and status.estimated_finish is not None:
            eta = max(0.0, status.estimated_finish - now)

    def last(name: str) -> float | None:
        return getattr(point, name) if point is not None else None

    series = history.series
    return RunFigures(
        state=status.state,
        backend=printable_line(spec.backend) if spec else "?",
        model=printable_line(spec.model) if spec else "?",
        name=printable_line(spec.name) if spec else "",
        reconnecting=status.reconnecting,
        detail=status.detail,
        error=status.error,
        step=point.step if point is not None else None,
        total_steps=total,
        epoch=epoch,
        total_epochs=epochs,
        elapsed_s=_elapsed(status, history, now),
        eta_s=eta,
        tokens_per_s=last("tokens_per_s"),
        learning_rate=last("learning_rate"),
        train_loss=series["train"].values[-1] if len(series["train"]) else None,
        valid_loss=series["valid"].values[-1] if len(series["valid"]) else None,
        full_valid_loss=series["full_valid"].values[-1] if len(series["full_valid"]) else None,
        best_valid=history.best_valid(),
        best_valid_series=history.validation_series()[0],
        trained_tokens=tokens,
        price_per_million=price,
        cost_usd=cost,
        fine_tuned_model=status.fine_tuned_model,
        output_dir=_output_dir(output_dir),
        checkpoints=len(status.checkpoints),
        alert=history.overfitting(),
        reward_margin=_last(series["train_margins"].values),
        reward_accuracy=_last(series["train_reward_acc"].values),
        valid_reward_margin=_last(series["valid_margins"].values),
        valid_reward_accuracy=_last(series["valid_reward_acc"].values),
    )


def _last(values: list[float]) -> float | None:
    return values[-1] if values else None


def format_duration(seconds: float | None) -> str:
    """``42s``, ``12m 05s``, ``3h 04m``, ``2d 05h``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
