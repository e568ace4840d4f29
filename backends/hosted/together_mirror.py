"""Following a Together AI job into its run folder: states, events, metric rows, the
fine-tuned model (``TogetherMirror``, run by the detached follower)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from backends.hosted.errors import HostedError, redact
from backends.hosted.mirror import Cursor, FollowLoop, Intervals
from backends.hosted.together_api import (
    CURSOR_FILE,
    LABEL,
    api_time,
    explain,
    metric_points,
    run_state,
)
from backends.runs import RunFolder, format_log_line
from backends.runs.tail import last_record
from backends.runs.values import RunState
from backends.text import printable_line


@dataclass
class _Cursor(Cursor):
    FILE = CURSOR_FILE
    events_seen: int = 0
    total_steps: int | None = None


class TogetherMirror(FollowLoop):
    """One Together job mirrored into its run folder: metrics, log lines and status, each once.

    Metrics: ``metrics.jsonl`` itself is the cursor (its last step). A step is written
    once a later step exists (its eval row may come after its train row) or the job
    has ended. Events: the cursor (``.together.json``) counts the events written and the
    size of ``log.txt`` then; lines a killed follower wrote past it are not written again.
    """

    _cursor: _Cursor

    def __init__(
        self,
        folder: RunFolder,
        client: Any,
        job_id: str,
        *,
        secrets: tuple[str | None, ...] = (),
        intervals: Intervals | None = None,
    ) -> None:
        super().__init__(
            folder, client, job_id, provider=LABEL, secrets=secrets, intervals=intervals
        )
        self._cursor = _Cursor.load(folder)
        self._pending = self._cursor.unsaved_log_lines(folder)

    def explain(self, error: BaseException) -> HostedError:
        return explain(error, secrets=self.secrets)

    def missing(self, state: RunState) -> str | None:
        """A completed job whose last steps' metrics Together has not listed yet."""
        total = self._cursor.total_steps
        if state is not RunState.SUCCEEDED or not total:
            return None
        last = last_record(self.folder.metrics_jsonl)
        return "its last metrics" if int(last.get("step", 0) if last else 0) < total else None

    def _save_cursor(self) -> None:
        self._cursor.save(self.folder)
        self._pending.clear()

    def sync_once(self) -> RunState:
        job = self.client.fine_tuning.retrieve(self.job_id)
        state = run_state(job.status)
        events = list(self.client.fine_tuning.list_events(self.job_id).data or [])
        self._apply_events(events)
        self._apply_metrics(state, job)
        checkpoints = self._checkpoints() if state is not RunState.QUEUED else None
        self._write_status(job, state, events, checkpoints)
        if state is RunState.SUCCEEDED and not self._cursor.results_saved:
            self._save_results(job, checkpoints)
        return state

    def _apply_events(self, events: list[Any]) -> None:
        new = events[self._cursor.events_seen :]
        if not new:
            return
        lines = []
        for event in new:
            if event.total_steps:
                self._cursor.total_steps = int(event.total_steps)
            level = str(getattr(event.level, "value", event.level) or "info").lower()
            prefix = "" if level in ("info", "legacy_info") else f"[{printable_line(level)}] "
            line = format_log_line(
                f"{prefix}{printable_line(str(event.message or event.type))}",
                api_time(event.created_at),
            )
            if self._pending[line] > 0:
                self._pending[line] -= 1
                continue
            lines.append(line)
        if lines:
            self.folder.append_log_lines(lines)
        self._cursor.events_seen = len(events)
        self._save_cursor()

    def _apply_metrics(self, state: RunState, job: Any) -> None:
        last = last_record(self.folder.metrics_jsonl)
        last_step = int(last.get("step", 0)) if last else 0
        answer = self.client.fine_tuning.list_metrics(self.job_id, global_step_from=last_step + 1)
        started = self.folder.read_status().started_at
        points = [
            p for p in metric_points(answer.metrics or [], started_at=started) if p.step > last_step
        ]
        if points and not state.is_terminal:
            points = points[:-1]  # the newest step may still get its eval row
        now = time.time()
        for point in points:
            point.total_steps = self._cursor.total_steps
            point.time = now
            point.elapsed = now - started if started else None
        self.folder.append_metrics(points)

    def _checkpoints(self) -> list[dict[str, Any]] | None:
        try:
            answer = self.client.fine_tuning.list_checkpoints(self.job_id)
        except Exception as error:
            if explain(error).retryable:
                raise
            return None
        return [
            {
                "step": int(c.step),
                "model": f"{self.job_id}:{int(c.step)}",
                "type": printable_line(str(c.checkpoint_type)),
                "created_at": api_time(c.created_at),
            }
            for c in sorted(answer.data or [], key=lambda c: c.step)
        ]

    def _write_status(
        self,
        job: Any,
        state: RunState,
        events: list[Any],
        checkpoints: list[dict[str, Any]] | None,
    ) -> None:
        changes: dict[str, Any] = {
            "state": state,
            "job_id": self.job_id,
            "provider_status": str(getattr(job.status, "value", job.status)),
            "reconnecting": False,
            "detail": "",
            "trained_tokens": job.token_count,
        }
        status = self.folder.read_status()
        if status.started_at is None:
            changes["started_at"] = api_time(job.created_at)
        if self._cursor.total_steps:
            changes["total_steps"] = self._cursor.total_steps
        if state is RunState.SUCCEEDED:
            changes["fine_tuned_model"] = job.x_model_output_name
        if state.is_terminal:
            changes["ended_at"] = status.ended_at or api_time(job.updated_at)
        if state is RunState.FAILED:
            errors = [
                e
                for e in events
                if str(getattr(e.level, "value", e.level) or "").lower()
                in ("error", "legacy_ierror")
            ]
            reason = errors[-1].message if errors else f"the job ended with status {job.status}"
            changes["error"] = printable_line(redact(str(reason), self.secrets))
        if checkpoints is not None:
            changes["checkpoints"] = tuple(checkpoints)
        self.folder.update_status(**changes)

    def _save_results(self, job: Any, checkpoints: list[dict[str, Any]] | None) -> None:
        output = self.folder.output_dir
        output.mkdir(parents=True, exist_ok=True)
        summary = {
            "job_id": job.id,
            "model": job.model,
            "fine_tuned_model": job.x_model_output_name,
            "trained_tokens": job.token_count,
            "checkpoints": checkpoints or [],
            "download": f"finetune-tui download {self.folder.run_id} [--merged]",
        }
        self._results_saved(summary, job.x_model_output_name)
