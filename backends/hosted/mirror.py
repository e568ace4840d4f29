"""What every hosted job mirror shares: the follow loop, its intervals and its cursor.

A provider's mirror (``job_mirror.JobMirror`` for the OpenAI fine-tuning API,
``together_mirror.TogetherMirror``) brings ``sync_once``: ask the provider for the job and
what is new, write it into the run folder (metrics to ``metrics.jsonl``, messages to
``log.txt``, the rest to ``status.json``, at the end the results to ``output/``).
``FollowLoop.run`` repeats that, with backoff on transient faults, until the job ends.

Exactly once, across crashes and restarts. A mirror saves its ``Cursor`` beside the run
after each batch: where it is in the provider's stream, and the size of ``log.txt`` (and
whatever else it appends to) at that moment. A process killed mid-batch leaves lines past
those sizes; the next one replays the batch and skips each event whose line is already
there. Nothing is ever truncated, so a viewer tailing the files never sees a line twice.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson

from backends.files import disk_problem, is_disk_full, write_json_atomic
from backends.hosted.errors import HostedError
from backends.locations import poll_interval
from backends.runs import RunFolder
from backends.runs.tail import LineTail
from backends.runs.values import RunState

C = TypeVar("C", bound="Cursor")


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
class Cursor:
    """Where a mirror is in its job's stream, saved in the run folder (``FILE``) after each
    batch, so that a restarted follower writes nothing twice. A provider's cursor adds the
    fields its stream needs."""

    FILE: ClassVar[str]
    log_offset: int = 0
    """The size of ``log.txt`` when the cursor was saved."""
    results_saved: bool = False

    @classmethod
    def load(cls: type[C], folder: RunFolder, **fixed: Any) -> C:
        """The cursor saved in ``folder`` (its known fields), with ``fixed`` over it; a missing
        or unreadable file reads as a fresh cursor."""
        try:
            data = orjson.loads((folder.path / cls.FILE).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            data = None
        known = {f.name for f in fields(cls)}
        saved = {k: v for k, v in data.items() if k in known} if isinstance(data, dict) else {}
        return cls(**{**saved, **fixed})

    def save(self, folder: RunFolder) -> None:
        """Written atomically, with the size of ``log.txt`` now."""
        self.log_offset = file_size(folder.log_txt)
        write_json_atomic(folder.path / self.FILE, asdict(self))

    def unsaved_log_lines(self, folder: RunFolder) -> Counter[str]:
        """The lines of ``log.txt`` past ``log_offset``, counted: what a follower killed
        before its next save had written already."""
        lines = LineTail(folder.log_txt, offset=self.log_offset).read_lines()
        return Counter(line.decode("utf-8", errors="replace") for line in lines)


def file_size(path: Path) -> int:
    """The size of ``path`` in bytes, 0 while it does not exist."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


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

    _cursor: Cursor
    """Where the mirror is in the job's stream (a subclass loads its own kind)."""

    def sync_once(self) -> RunState:
        raise NotImplementedError

    def _save_cursor(self) -> None:
        """Save ``_cursor`` (and forget the lines a killed follower had written past it)."""
        raise NotImplementedError

    def _results_saved(self, summary: dict[str, Any], model: Any) -> None:
        """The job's summary written to ``output/result.json`` and its model to the log; the
        cursor then says so, and no restarted follower fetches them again."""
        write_json_atomic(self.folder.output_dir / "result.json", summary)
        self.folder.log(f"Fine-tuned model: {model}")
        self._cursor.results_saved = True
        self._save_cursor()

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


__all__ = ["Cursor", "FollowLoop", "HostedError", "Intervals", "file_size", "follow_run"]
