"""The runs list: one row per run in the workspace, newest first.

``RunTable.rows`` is called again and again by the Runs screen; each run's
``metrics.jsonl`` is followed by a tail, so a refresh reads only the lines
appended since (the best validation loss needs every point once). A run whose
worker died reads as failed (``RunFolder.effective_status``), never as
running forever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from backends.runs.status import RunStatus
from backends.runs.store import RunFolder, RunStore, UnreadableFile
from backends.runs.tail import MetricsTail, metrics_note
from backends.runs.values import MetricPoint, RunSpec, RunState
from backends.text import printable_line

UNREADABLE = "unreadable"
"""The state word of a run whose files cannot be read (``RunRow.problem`` says which and why)."""


@dataclass(frozen=True)
class RunRow:
    run_id: str
    folder: RunFolder
    name: str
    backend: str
    model: str
    state: RunState
    started_at: float | None
    ended_at: float | None
    duration_s: float | None
    step: int | None
    total_steps: int | None
    last_loss: float | None
    last_valid_loss: float | None
    best_valid: tuple[float, int] | None
    """Lowest of the series ``last_valid_loss`` comes from: never above it."""
    error: str | None
    job_id: str | None
    fine_tuned_model: str | None
    problem: str | None = None
    """``"status.json: empty"``: the run cannot be read; ``state`` is then a stand-in."""
    bad_metric_lines: int = 0
    """Lines of ``metrics.jsonl`` passed over (not JSON, or values of the wrong type)."""
    method: str = ""
    """The objective (``supervised``, ``dpo``); empty when ``run.json`` cannot be read."""
    last_reward_margin: float | None = None
    """DPO: the last training reward margin."""
    last_reward_accuracy: float | None = None
    followed: bool | None = None
    """A hosted run still going: whether a follower keeps its folder current (``None``: moot)."""
    metrics_cut_short: bool = False
    """The run has ended and the last line of ``metrics.jsonl`` has no end (a truncated write)."""

    @property
    def metrics_note(self) -> str | None:
        """``metrics.jsonl: 2 damaged line(s) passed over; its last line is cut short``."""
        return metrics_note(self.bad_metric_lines, cut_short=self.metrics_cut_short)

    valid_series: str = "valid"
    """Which validation the two figures judge by: ``full_valid`` when the provider reports it."""

    @property
    def state_text(self) -> str:
        """``running``, or ``unreadable: status.json: empty``."""
        return f"{UNREADABLE}: {self.problem}" if self.problem else self.state.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.folder.path),
            "name": self.name,
            "backend": self.backend,
            "model": self.model,
            "state": UNREADABLE if self.problem else self.state.value,
            "problem": self.problem,
            "bad_metric_lines": self.bad_metric_lines,
            "metrics_cut_short": self.metrics_cut_short,
            "followed": self.followed,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "step": self.step,
            "total_steps": self.total_steps,
            "last_loss": self.last_loss,
            "last_valid_loss": self.last_valid_loss,
            "best_valid_loss": self.best_valid[0] if self.best_valid else None,
            "best_valid_step": self.best_valid[1] if self.best_valid else None,
            "valid_series": self.valid_series,
            "error": self.error,
            "job_id": self.job_id,
            "fine_tuned_model": self.fine_tuned_model,
            "method": self.method or None,
            "last_reward_margin": self.last_reward_margin,
            "last_reward_accuracy": self.last_reward_accuracy,
        }


class _LossTracker:
    """Last point, last losses and best validation loss of one run, kept current by a tail."""

    def __init__(self, folder: RunFolder) -> None:
        self.tail = MetricsTail(folder.metrics_jsonl)
        self.resets = 0
        self._clear()

    def _clear(self) -> None:
        self.last: MetricPoint | None = None
        self.last_loss: float | None = None
        self.last_valid: float | None = None
        self.best_valid: tuple[float, int] | None = None
        self.best_full_valid: tuple[float, int] | None = None
        self.last_full_valid: float | None = None
        self.total_steps: int | None = None
        self.last_margin: float | None = None
        self.last_reward_accuracy: float | None = None

    def update(self) -> None:
        points = self.tail.read_points()
        if self.tail.resets != self.resets:  # the file was replaced: these points are all of it
            self.resets = self.tail.resets
            self._clear()
        for point in points:
            self.last = point
            if point.train_loss is not None:
                self.last_loss = point.train_loss
            if point.total_steps:
                self.total_steps = point.total_steps
            if point.train_rewards_margins is not None:
                self.last_margin = point.train_rewards_margins
            if point.train_rewards_accuracies is not None:
                self.last_reward_accuracy = point.train_rewards_accuracies
            if point.valid_loss is not None:
                self.last_valid = point.valid_loss
                if self.best_valid is None or point.valid_loss < self.best_valid[0]:
                    self.best_valid = (point.valid_loss, point.step)
            if point.full_valid_loss is not None:
                self.last_full_valid = point.full_valid_loss
                if self.best_full_valid is None or point.full_valid_loss < self.best_full_valid[0]:
                    self.best_full_valid = (point.full_valid_loss, point.step)

    def judged(self) -> tuple[str, float | None, tuple[float, int] | None]:
        """The validation series to judge by (full when present), its last value and its best.

        The best is the minimum over the very series whose last value is shown,
        so it is never greater than it.
        """
        if self.best_full_valid is not None:
            return "full_valid", self.last_full_valid, self.best_full_valid
        return "valid", self.last_valid, self.best_valid


def _duration(status: RunStatus, now: float) -> float | None:
    if status.started_at is None:
        return None
    if status.ended_at is not None:
        return max(0.0, status.ended_at - status.started_at)
    if status.state.is_terminal:
        return None
    return max(0.0, now - status.started_at)


class RunTable:
    """Rows for every run of a store, refreshed cheaply."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._trackers: dict[str, _LossTracker] = {}
        self._specs: dict[str, RunSpec] = {}

    def _spec(self, folder: RunFolder) -> RunSpec:
        """``run.json`` (cached once read); ``UnreadableFile`` when it cannot be read (yet)."""
        if folder.run_id not in self._specs:
            self._specs[folder.run_id] = folder.read_spec()
        return self._specs[folder.run_id]

    def rows(self, now: float) -> list[RunRow]:
        """One row per run; a run whose files cannot be read is a row saying so."""
        rows = []
        for folder in self.store.list_folders():
            try:
                rows.append(self._row(folder, now))
            except (OSError, ValueError, TypeError) as error:  # one damaged run, not the list
                rows.append(_unreadable_row(folder, f"{type(error).__name__}: {error}"))
        return rows

    def _row(self, folder: RunFolder, now: float) -> RunRow:
        tracker = self._trackers.get(folder.run_id)
        if tracker is None:
            tracker = self._trackers[folder.run_id] = _LossTracker(folder)
        tracker.update()
        judged = tracker.judged()
        problem: str | None = None
        recovered_step: int | None = None
        spec: RunSpec | None
        try:
            spec = self._spec(folder)
        except UnreadableFile as error:
            spec, problem = None, str(error)
        try:
            status = folder.effective_status(now=now)
        except UnreadableFile as error:
            status = RunStatus(job_id=folder.recovered_job_id())
            problem = problem or str(error)
            recovered = folder.recovered_steps()  # what the checkpoints prove was trained
            if recovered is not None:
                status = replace(status, total_steps=recovered[1])
                recovered_step = recovered[0]
        last = tracker.last
        return RunRow(
            run_id=folder.run_id,
            folder=folder,
            name=printable_line((spec.name if spec else "") or folder.run_id),
            backend=printable_line(spec.backend) if spec else "?",
            model=printable_line(spec.model) if spec else "?",
            state=status.state,
            started_at=status.started_at or status.created_at,
            ended_at=status.ended_at,
            duration_s=_duration(status, now),
            step=last.step if last else recovered_step,
            total_steps=status.total_steps or tracker.total_steps,
            last_loss=tracker.last_loss,
            last_valid_loss=judged[1],
            best_valid=judged[2],
            valid_series=judged[0],
            error=status.error,
            job_id=status.job_id,
            fine_tuned_model=status.fine_tuned_model,
            problem=problem,
            bad_metric_lines=tracker.tail.bad_lines,
            method=spec.method if spec else "",
            last_reward_margin=tracker.last_margin,
            last_reward_accuracy=tracker.last_reward_accuracy,
            followed=(
                status.extra.get("follower_alive") is not False
                if status.job_id and not status.state.is_terminal and not problem
                else None
            ),
            metrics_cut_short=(not status.state.is_active and tracker.tail.unfinished_bytes() > 0),
        )


def _unreadable_row(folder: RunFolder, problem: str) -> RunRow:
    return RunRow(
        run_id=folder.run_id,
        folder=folder,
        name=folder.run_id,
        backend="?",
        model="?",
        state=RunState.QUEUED,
        started_at=None,
        ended_at=None,
        duration_s=None,
        step=None,
        total_steps=None,
        last_loss=None,
        last_valid_loss=None,
        best_valid=None,
        error=None,
        job_id=folder.recovered_job_id(),
        fine_tuned_model=None,
        problem=printable_line(problem),
    )


def format_started(when: float | None, tz: tzinfo | None, *, short: bool = False) -> str:
    """``2026-11-24 09:30`` (``11-24 09:30`` when short) in ``tz``, the viewer's zone."""
    if when is None:
        return "—"
    return datetime.fromtimestamp(when, tz=tz).strftime(
        "%m-%d %H:%M" if short else "%Y-%m-%d %H:%M"
    )
