"""One job of the OpenAI fine-tuning API (OpenAI, Azure OpenAI, OpenAI-compatible) mirrored
into its run folder, every event exactly once.

``JobMirror.sync_once`` asks the provider for the job, its new events and (when something
changed) its checkpoints, and writes them into the folder: metrics events to
``metrics.jsonl``, message events to ``log.txt``, the rest to ``status.json``; at the end the
result files go to ``output/``. ``FollowLoop.run`` repeats that until the job ends.

The cursor (``.mirror.json``) holds the last event id plus the sizes of ``metrics.jsonl``
and ``log.txt`` at that moment. A replayed batch skips each event whose line is already
there: metrics by step, messages by their exact line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from backends.files import write_atomic
from backends.hosted import api
from backends.hosted.errors import HostedError, explain
from backends.hosted.mirror import Cursor, FollowLoop, Intervals, file_size
from backends.runs import RunFolder, format_log_line
from backends.runs.store import MIRROR_CURSOR
from backends.runs.tail import JsonlTail, last_record
from backends.runs.values import RunState
from backends.text import printable_line


@dataclass
class _Cursor(Cursor):
    FILE = MIRROR_CURSOR
    job_id: str | None = None
    """The job mirrored: recoverable from here when ``status.json`` is damaged."""
    last_event_id: str | None = None
    metrics_offset: int = 0


class JobMirror(FollowLoop):
    """Mirror ``job_id`` into ``folder`` through ``client`` (OpenAI, Azure, compatible)."""

    _cursor: _Cursor

    def __init__(
        self,
        folder: RunFolder,
        client: Any,
        job_id: str,
        *,
        provider: str = "OpenAI",
        secrets: tuple[str | None, ...] = (),
        intervals: Intervals | None = None,
    ) -> None:
        super().__init__(
            folder, client, job_id, provider=provider, secrets=secrets, intervals=intervals
        )
        self._cursor = _Cursor.load(folder, job_id=job_id)
        self._pending_log = self._cursor.unsaved_log_lines(folder)
        self._pending_steps = self._unsaved_steps()
        last = last_record(folder.metrics_jsonl)
        self._last_step = int(last.get("step", 0)) if last else 0
        self._started_at: float | None = folder.read_status().started_at
        self._want_checkpoints = True

    def explain(self, error: BaseException) -> HostedError:
        return explain(error, provider=self.provider, secrets=self.secrets)

    def missing(self, state: RunState) -> str | None:
        if state is RunState.SUCCEEDED and not self._cursor.results_saved:
            return "its result files"
        return None

    # --- the cursor and crash recovery ---------------------------------
    def _save_cursor(self) -> None:
        self._cursor.metrics_offset = file_size(self.folder.metrics_jsonl)
        self._cursor.save(self.folder)
        self._pending_log.clear()
        self._pending_steps.clear()

    def _unsaved_steps(self) -> set[int]:
        """Steps written after the last saved cursor: metrics a killed mirror already wrote."""
        records = JsonlTail(self.folder.metrics_jsonl, offset=self._cursor.metrics_offset).read()
        return {int(r["step"]) for r in records if "step" in r}

    # --- one pass --------------------------------------------------------
    def sync_once(self) -> RunState:
        """Bring the folder up to date with the provider; returns the run state now."""
        job = self.client.fine_tuning.jobs.retrieve(self.job_id)
        state = api.run_state(job.status)
        if self._started_at is None:
            self._started_at = float(job.created_at)
        events = list(
            api.iter_new_events(self.client, self.job_id, last_event_id=self._cursor.last_event_id)
        )
        if events:
            self._apply_events(events)
        if (
            self._want_checkpoints and state in (RunState.RUNNING, RunState.PAUSED)
        ) or state.is_terminal:
            checkpoints = self._checkpoints()
        else:
            checkpoints = None
        self._write_status(job, state, checkpoints)
        if state is RunState.SUCCEEDED and not self._cursor.results_saved:
            self._save_results(job, checkpoints)
        return state

    def _apply_events(self, events: list[Any]) -> None:
        points = []
        log_lines: list[str] = []
        for event in events:
            point = api.metric_point(event, started_at=self._started_at)
            if point is not None:
                if point.step <= self._last_step or point.step in self._pending_steps:
                    continue
                points.append(point)
                self._last_step = point.step
                continue
            level = getattr(event, "level", "info") or "info"
            prefix = "" if level == "info" else f"[{printable_line(str(level))}] "
            message = printable_line(str(event.message))
            line = format_log_line(f"{prefix}{message}", float(event.created_at))
            if self._pending_log[line] > 0:
                self._pending_log[line] -= 1
                continue
            log_lines.append(line)
            if "checkpoint" in str(event.message).lower():
                self._want_checkpoints = True
        self.folder.append_metrics(points)
        if log_lines:
            self.folder.append_log_lines(log_lines)
        self._cursor.last_event_id = events[-1].id
        self._save_cursor()

    def _checkpoints(self) -> list[dict[str, Any]] | None:
        try:
            checkpoints = api.list_checkpoints(self.client, self.job_id)
        except Exception as error:
            if explain(error).retryable:
                raise
            return None  # some providers/tiers have no checkpoints endpoint
        self._want_checkpoints = False
        return checkpoints

    def _write_status(
        self, job: Any, state: RunState, checkpoints: list[dict[str, Any]] | None
    ) -> None:
        changes: dict[str, Any] = {
            "state": state,
            "job_id": self.job_id,
            "provider_status": job.status,
            "reconnecting": False,
            "detail": "",
            "fine_tuned_model": job.fine_tuned_model,
            "trained_tokens": job.trained_tokens,
            "estimated_finish": float(job.estimated_finish) if job.estimated_finish else None,
            "result_files": tuple(job.result_files or ()),
        }
        status = self.folder.read_status()
        if self._started_at is not None and status.started_at is None:
            changes["started_at"] = self._started_at
        if state.is_terminal:
            changes["ended_at"] = (
                float(job.finished_at) if job.finished_at else status.ended_at or time.time()
            )
        if job.error is not None and getattr(job.error, "message", None):
            where = f" (line/field: {job.error.param})" if getattr(job.error, "param", None) else ""
            changes["error"] = f"{job.error.message}{where} [{job.error.code}]"
        if self._last_step:
            last = last_record(self.folder.metrics_jsonl) or {}
            if last.get("total_steps"):
                changes["total_steps"] = int(last["total_steps"])
        if checkpoints is not None:
            changes["checkpoints"] = tuple(checkpoints)
        self.folder.update_status(**changes)

    def _save_results(self, job: Any, checkpoints: list[dict[str, Any]] | None) -> None:
        output = self.folder.output_dir
        output.mkdir(parents=True, exist_ok=True)
        for file_id in job.result_files or ():
            name, content = api.download_file(self.client, file_id)
            write_atomic(output / name, content)
            self.folder.log(f"Saved result file {file_id} to output/{name}")
        summary = {
            "job_id": job.id,
            "model": job.model,
            "fine_tuned_model": job.fine_tuned_model,
            "trained_tokens": job.trained_tokens,
            "result_files": list(job.result_files or ()),
            "checkpoints": checkpoints or [],
        }
        self._results_saved(summary, job.fine_tuned_model)


__all__ = ["JobMirror"]
