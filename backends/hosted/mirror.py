"""One hosted job mirrored into its run folder, every event exactly once.

``JobMirror.sync_once`` asks the provider for the job, its new events and
(when something changed) its checkpoints, and writes them into the folder:
metrics events to ``metrics.jsonl``, message events to ``log.txt``, the rest
to ``status.json``; at the end the result files go to ``output/``.
``JobMirror.run`` repeats that, with backoff on transient faults, until the
job ends.

Exactly once, across crashes and restarts. The cursor (``.mirror.json``:
the last event id plus the sizes of ``metrics.jsonl`` and ``log.txt`` at that
moment) is saved after each batch. A process killed mid-batch leaves lines
past those sizes; the next one replays the batch and skips each event whose
line is already there (metrics by step, messages by their exact line).
Nothing is ever truncated, so a viewer tailing the files never sees a line
twice.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from backends.files import disk_problem, is_disk_full, write_atomic, write_json_atomic
from backends.hosted import api
from backends.hosted.errors import HostedError, explain
from backends.locations import poll_interval
from backends.runs import RunFolder, format_log_line
from backends.runs.tail import JsonlTail, LineTail, last_record
from backends.runs.values import RunState
from backends.text import printable_line

CURSOR_FILE = ".mirror.json"


@dataclass
class Intervals:
    """Seconds between polls, by state, and the backoff bounds for transient faults."""

    validating: float = 10.0
    queued: float = 15.0
    running: float = 5.0
    paused: float = 30.0
    backoff_start: float = 1.0
    backoff_max: float = 60.0
    heartbeat: float = 15.0
    ended_grace: float = 120.0
    """Once the job has ended, how long to keep trying to fetch what is left (results, events)."""

    @classmethod
    def from_env(cls) -> Intervals:
        """Every interval from ``FINETUNE_TUI_POLL_INTERVAL`` when set (tests set it small)."""
        raw = poll_interval()
        if raw is None:
            return cls()
        value = max(0.005, raw)
        return cls(
            value, value, value, value, value, max(value * 8, 0.05), value, max(value * 25, 0.2)
        )

    def for_state(self, state: RunState) -> float:
        return {
            RunState.VALIDATING: self.validating,
            RunState.QUEUED: self.queued,
            RunState.PAUSED: self.paused,
        }.get(state, self.running)


@dataclass
class _Cursor:
    job_id: str | None = None
    """The job mirrored: recoverable from here when ``status.json`` is damaged."""
    last_event_id: str | None = None
    metrics_offset: int = 0
    log_offset: int = 0
    results_saved: bool = False


class FollowLoop:
    """The follow loop every hosted mirror shares: sync until the job ends, through faults.

    A subclass brings its provider's own ``sync_once`` (fetch the job, write what is
    new, return the state) and ``explain`` (the SDK's errors as ``HostedError``);
    it may say when an ended job still has something to fetch (``missing``).
    """

    def __init__(
        self,
        folder: RunFolder,
        client: Any,
        job_id: str,
        *,
        provider: str,
        secrets: tuple[str | None, ...] = (),
        intervals: Intervals | None = None,
    ) -> None:
        """What every mirror follows (``job_id`` through ``client`` into ``folder``), for
        whom (``provider``, in messages), what its messages never show (``secrets``), and how
        often it asks (``intervals``, from the environment by default)."""
        self.folder = folder
        self.client = client
        self.job_id = job_id
        self.provider = provider
        self.secrets = secrets
        self.intervals = intervals or Intervals.from_env()

    def sync_once(self) -> RunState:
        raise NotImplementedError

    def explain(self, error: BaseException) -> HostedError:
        raise NotImplementedError

    def missing(self, state: RunState) -> str | None:
        """What an ended job still has to be fetched ("its last metrics"), ``None`` when nothing."""
        return None

    def run(
        self, *, stop: threading.Event | None = None, sleep: Callable[[float], bool] | None = None
    ) -> RunState:
        """Sync until the job ends or ``stop`` is set; transient faults back off and retry.

        While the job runs, retries go on for as long as it takes. Once the job
        is recorded as ended, what is left to fetch (results, events, late
        metrics) is tried for at most ``intervals.ended_grace`` seconds; what
        could not be fetched is then recorded, with how to fetch it later, and
        the ended state returned. A full disk is said once on stderr and
        retried: the job goes on. A permanent fault (bad key, job not found)
        raises ``HostedError``; the job itself goes on at the provider.
        """
        stop = stop or threading.Event()
        wait = sleep or stop.wait
        backoff = self.intervals.backoff_start
        state = self.folder.read_status().state
        disk_full = False
        ended_since: float | None = None

        def grace_over() -> bool:
            nonlocal ended_since
            ended_since = ended_since if ended_since is not None else time.monotonic()
            return time.monotonic() - ended_since >= self.intervals.ended_grace

        while not stop.is_set():
            try:
                state = self.sync_once()
                backoff = self.intervals.backoff_start
                disk_full = False
            except OSError as error:
                if not is_disk_full(error):
                    raise
                if not disk_full:  # said once (to stderr: log.txt may not take it either)
                    print(
                        f"Follower: {disk_problem(error)} The job goes on at {self.provider}; "
                        "its state is written once there is space again.",
                        file=sys.stderr,
                        flush=True,
                    )
                    disk_full = True
                if wait(self.intervals.backoff_max):
                    break
                continue
            except Exception as error:
                explained = self.explain(error)
                if not explained.retryable:
                    raise explained from None
                delay = min(max(backoff, explained.retry_after or 0.0), self.intervals.backoff_max)
                self.folder.update_status(
                    reconnecting=True, detail=f"Reconnecting: {explained.message}"
                )
                recorded = self.folder.read_status().state
                if recorded.is_terminal:  # the job has ended: only leftovers are missing
                    state = recorded
                    if grace_over():
                        self._record_unfetched(recorded, explained.message)
                        return recorded
                self.folder.log(f"Reconnecting in {delay:.0f} s: {explained.message}")
                backoff = min(backoff * 2, self.intervals.backoff_max)
                if wait(delay):
                    break
                continue
            if state.is_terminal:
                if self.missing(state) is None:
                    return state
                if grace_over():
                    self._record_unfetched(state, f"{self.provider} has not sent them")
                    return state
            if wait(self.intervals.for_state(state)):
                break
        return state

    def _record_unfetched(self, state: RunState, why: str) -> None:
        """The job ended but the provider stayed out of reach: say what is missing and how to get it."""
        missing = self.missing(state) or "its last events"
        try:
            backend = self.folder.read_spec().backend
        except Exception:
            backend = "openai"
        how = f"finetune-tui attach {self.job_id} --backend {backend}"
        detail = (
            f"The job {state.value}, but {missing} could not be fetched ({why}). "
            f"Fetch them later with `{how}`."
        )
        self.folder.update_status(
            reconnecting=False, detail=detail, extra={"unfetched": missing, "fetch_with": how}
        )
        self.folder.log(detail)


def follow_run(
    run: RunFolder, make_mirror: Callable[[], FollowLoop], *, stop: threading.Event | None = None
) -> RunState:
    """Follow ``run`` with the mirror ``make_mirror`` builds; a permanent fault is recorded, then raised."""
    try:
        return make_mirror().run(stop=stop)
    except HostedError as error:
        run.log(f"Following stopped: {error}")
        run.update_status(detail=f"Following stopped: {error}", reconnecting=False)
        raise


class JobMirror(FollowLoop):
    """Mirror ``job_id`` into ``folder`` through ``client`` (OpenAI, Azure, compatible)."""

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
        self._cursor = self._load_cursor()
        self._pending_log, self._pending_steps = self._uncommitted()
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
    @property
    def _cursor_path(self) -> Any:
        return self.folder.path / CURSOR_FILE

    def _load_cursor(self) -> _Cursor:
        try:
            data = orjson.loads(self._cursor_path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return _Cursor(job_id=self.job_id)
        return _Cursor(
            job_id=self.job_id,
            last_event_id=data.get("last_event_id"),
            metrics_offset=int(data.get("metrics_offset", 0)),
            log_offset=int(data.get("log_offset", 0)),
            results_saved=bool(data.get("results_saved", False)),
        )

    def _save_cursor(self) -> None:
        self._cursor.metrics_offset = _size(self.folder.metrics_jsonl)
        self._cursor.log_offset = _size(self.folder.log_txt)
        write_json_atomic(self._cursor_path, self._cursor.__dict__)
        self._pending_log.clear()
        self._pending_steps.clear()

    def _uncommitted(self) -> tuple[Counter[str], set[int]]:
        """Lines written after the last saved cursor: events a killed mirror already wrote."""
        log_lines = LineTail(self.folder.log_txt, offset=self._cursor.log_offset).read_lines()
        pending_log = Counter(line.decode("utf-8", errors="replace") for line in log_lines)
        records = JsonlTail(self.folder.metrics_jsonl, offset=self._cursor.metrics_offset).read()
        return pending_log, {int(r["step"]) for r in records if "step" in r}

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
        write_json_atomic(output / "result.json", summary)
        self.folder.log(f"Fine-tuned model: {job.fine_tuned_model}")
        self._cursor.results_saved = True
        self._save_cursor()


def _size(path: Any) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


__all__ = ["CURSOR_FILE", "FollowLoop", "HostedError", "Intervals", "JobMirror", "follow_run"]
