"""Following one run folder for a viewer: the loss history, the log's end, the status.

``RunWatch.open`` reads the history once; each ``poll`` reads only what was
appended since (``backends.tail``), so a viewer of a 100,000-point run pays
for it once and then for the new lines only. Nothing here writes to the run
folder: viewers only read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from backends.runs.metrics import OverfitAlert, best_loss, detect_overfitting
from backends.runs.status import RunStatus
from backends.runs.store import RunFolder, UnreadableFile
from backends.runs.tail import TextTail
from backends.runs.values import MetricPoint, RunSpec
from backends.text import printable

TRAIN = "train"
VALID = "valid"
FULL_VALID = "full_valid"
SERIES: tuple[str, ...] = (TRAIN, VALID, FULL_VALID)
SERIES_LABELS = {TRAIN: "train", VALID: "valid", FULL_VALID: "full valid"}

LOSS = "loss"
MARGINS = "margins"
ACCURACIES = "accuracies"
REWARDS = "rewards"
METRICS: tuple[str, ...] = (LOSS, MARGINS, ACCURACIES, REWARDS)
"""What a plot can show: the loss, or one of DPO's reward views."""
METRIC_LABELS = {
    LOSS: "loss",
    MARGINS: "reward margin",
    ACCURACIES: "reward accuracy",
    REWARDS: "chosen/rejected rewards",
}
DPO_FIELDS: dict[str, str] = {
    f"{split}_{short}": f"{split}_rewards_{field_name}"
    for split in (TRAIN, VALID)
    for short, field_name in (
        ("margins", "margins"),
        ("reward_acc", "accuracies"),
        ("chosen", "chosen"),
        ("rejected", "rejected"),
    )
}
"""Each DPO series of a ``LossHistory`` and the ``MetricPoint`` field it comes from."""
METRIC_SERIES: dict[str, tuple[str, ...]] = {
    LOSS: SERIES,
    MARGINS: ("train_margins", "valid_margins"),
    ACCURACIES: ("train_reward_acc", "valid_reward_acc"),
    REWARDS: ("train_chosen", "train_rejected", "valid_chosen", "valid_rejected"),
}
SERIES_LABELS.update(
    {
        "train_margins": "train",
        "valid_margins": "valid",
        "train_reward_acc": "train",
        "valid_reward_acc": "valid",
        "train_chosen": "train chosen",
        "train_rejected": "train rejected",
        "valid_chosen": "valid chosen",
        "valid_rejected": "valid rejected",
    }
)

LOG_BACKLOG_BYTES = 256 * 1024
"""How much of the end of ``log.txt`` a viewer reads when it opens a run."""


@dataclass
class Series:
    """One loss curve: steps (non-decreasing) and values, appended as points arrive."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)


class LossHistory:
    """Every logged point of a run, kept as columns (cheap to append, to slice and to plot)."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {name: Series() for name in (*SERIES, *DPO_FIELDS)}
        self.times: list[float] = []
        """Seconds (``elapsed`` or ``time``) of each point with a training loss, for the pace."""
        self.time_steps: list[int] = []
        self.last_point: MetricPoint | None = None
        self.total_steps: int | None = None
        self.count = 0
        self.version = 0
        """Bumped on every change: a drawing keyed on it knows when to redraw."""

    def clear(self) -> None:
        version = self.version
        LossHistory.__init__(self)
        self.version = version + 1

    def add(self, points: Iterable[MetricPoint]) -> int:
        """Append points; returns how many were added."""
        added = 0
        train, valid, full = (self.series[name] for name in SERIES)
        for point in points:
            step = point.step
            if point.train_loss is not None:
                train.steps.append(step)
                train.values.append(point.train_loss)
                when = point.elapsed if point.elapsed is not None else point.time
                if when is not None:
                    self.time_steps.append(step)
                    self.times.append(when)
            if point.valid_loss is not None:
                valid.steps.append(step)
                valid.values.append(point.valid_loss)
            if point.full_valid_loss is not None:
                full.steps.append(step)
                full.values.append(point.full_valid_loss)
            if point.train_rewards_margins is not None or point.valid_rewards_margins is not None:
                self._add_dpo(point)
            if point.total_steps:
                self.total_steps = point.total_steps
            self.last_point = point
            added += 1
        if added:
            self.count += added
            self.version += 1
        return added

    def _add_dpo(self, point: MetricPoint) -> None:
        for name, field_name in DPO_FIELDS.items():
            value = getattr(point, field_name)
            if value is not None:
                series = self.series[name]
                series.steps.append(point.step)
                series.values.append(value)

    def metrics(self) -> tuple[str, ...]:
        """The views with something to draw: the loss always, DPO's once a DPO point arrived."""
        return tuple(
            metric
            for metric in METRICS
            if metric == LOSS or any(len(self.series[n]) for n in METRIC_SERIES[metric])
        )

    @property
    def last_step(self) -> int | None:
        return self.last_point.step if self.last_point is not None else None

    def validation_series(self) -> tuple[str, Series]:
        """The validation curve to judge by: full validation when it has points, else validation."""
        full = self.series[FULL_VALID]
        return (FULL_VALID, full) if len(full) else (VALID, self.series[VALID])

    def best_valid(self) -> tuple[float, int] | None:
        _, series = self.validation_series()
        return best_loss(series.steps, series.values)

    def overfitting(self) -> OverfitAlert | None:
        name, valid = self.validation_series()
        train = self.series[TRAIN]
        return detect_overfitting(
            train.steps,
            train.values,
            valid.steps,
            valid.values,
            series="full validation" if name == FULL_VALID else "validation",
        )


@dataclass(frozen=True)
class WatchUpdate:
    """What one ``poll`` found."""

    points: int = 0
    log_lines: tuple[str, ...] = ()
    status_changed: bool = False
    reset: bool = False
    """``metrics.jsonl`` was replaced: the history was read again from the start."""

    @property
    def changed(self) -> bool:
        return bool(self.points or self.log_lines or self.status_changed or self.reset)


def log_backlog(
    path: Path, count: int, *, max_bytes: int = LOG_BACKLOG_BYTES
) -> tuple[list[str], int]:
    """The last ``count`` complete lines of a log and the offset just past them (where to tail from)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read(size - start)
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n")
    if end < 0:
        return [], start
    lines = data[:end].split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one may be cut
    text = [
        printable(line.decode("utf-8", errors="replace").rstrip("\r")) for line in lines[-count:]
    ]
    return text, start + end + 1


class RunWatch:
    """One run folder followed for a viewer."""

    def __init__(self, folder: RunFolder, *, backlog_lines: int = 200) -> None:
        self.folder = folder
        self.backlog_lines = backlog_lines
        self.history = LossHistory()
        self.spec: RunSpec | None = None
        self.spec_problem: str | None = None
        self.status_problem: str | None = None
        """``"status.json: empty"`` while it cannot be read; ``status`` keeps the last good one."""
        self.status = RunStatus()
        self._metrics = folder.metrics_tail()
        self._log: TextTail | None = None
        self._resets = 0

    def open(self, now: float) -> list[str]:
        """Read the spec, the whole history, the status and the end of the log (returned)."""
        try:
            self.spec = self.folder.read_spec()
        except UnreadableFile as error:
            self.spec_problem = f"Unreadable: {error}"
        self.history.add(self._metrics.read_points())
        self._resets = self._metrics.resets
        self.status = self._read_status(now) or RunStatus(job_id=self.folder.recovered_job_id())
        lines, offset = log_backlog(self.folder.log_txt, self.backlog_lines)
        self._log = TextTail(self.folder.log_txt, offset=offset)
        return lines

    @property
    def problem(self) -> str | None:
        """What cannot be read of this run (``run.json``, ``status.json``), for the viewer to say."""
        status = f"Unreadable: {self.status_problem}" if self.status_problem else None
        return "\n".join(p for p in (self.spec_problem, status) if p) or None

    @property
    def metrics_note(self) -> str | None:
        """What of ``metrics.jsonl`` was passed over (damaged lines; a last line cut short once
        the run has ended), as ``runs`` and ``watch`` say it; ``None`` when nothing was."""
        return self._metrics.note(ended=not self.status.state.is_active)

    def _read_status(self, now: float) -> RunStatus | None:
        try:
            status = self.folder.effective_status(now=now)
        except UnreadableFile as error:
            self.status_problem = str(error)
            return None
        self.status_problem = None
        return status

    def poll(self, now: float, *, status: bool = True) -> WatchUpdate:
        """What was appended since the last call; ``status`` re-reads ``status.json`` too."""
        points = self._metrics.read_points()
        reset = self._metrics.resets != self._resets
        if reset:
            self._resets = self._metrics.resets
            self.history.clear()
        added = self.history.add(points)
        lines = tuple(self._log.read_text_lines()) if self._log is not None else ()
        changed = False
        if status:
            problem = self.status_problem
            current = self._read_status(now) or self.status
            changed = current != self.status or problem != self.status_problem
            self.status = current
        return WatchUpdate(points=added, log_lines=lines, status_changed=changed, reset=reset)
