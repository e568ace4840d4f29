"""The run store: one folder per training run, the contract between a backend and every viewer.

    <workspace>/runs/<run-id>/
      run.json        RunSpec (no secrets, ever)
      status.json     RunStatus: state, pid / remote job id, times, error, heartbeat
      metrics.jsonl   one MetricPoint per line, append-only, whole lines
      log.txt         human-readable log
      output/         adapter / merged model / result files
      .lock           flock held by the process keeping the folder current

JSON documents are replaced atomically (``backends.files``); the JSONL and
the log are appended one whole line per write, so a reader sees either a line
or nothing of it. Readers follow a run with the tails in ``backends.tail``.

Run ids sort by creation time and say what they are:
``20261124-0312-gpt-4o-mini-ab12`` (UTC date and time, model, random tag).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from backends.files import append_jsonl, write_json_atomic
from backends.processes import is_locked, lock_holder, pid_alive
from backends.runs.ids import make_run_id, model_slug
from backends.runs.status import RunStatus
from backends.runs.tail import MetricsTail, TextTail, last_lines, last_record
from backends.runs.values import MetricPoint, RunSpec, RunState

Clock = Callable[[], float]
"""Returns Unix time in seconds; injected so tests control time."""

__all__ = [
    "STALE_AFTER_S",
    "Clock",
    "RunFolder",
    "RunStatus",
    "RunStore",
    "RunSummary",
    "format_log_line",
    "make_run_id",
    "model_slug",
]

STALE_AFTER_S = 90.0
"""A worker that has not written a heartbeat for this long is presumed dead."""


def format_log_line(message: str, when: float) -> str:
    """``2026-11-24 03:12:05  message`` (UTC): the shape of every line in ``log.txt``."""
    stamp = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp}  {message}"


class RunFolder:
    """One run's folder: typed reads and writes of the files in the contract."""

    def __init__(self, path: Path, *, clock: Clock = time.time) -> None:
        self.path = Path(path)
        self.clock = clock

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def status_json(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_jsonl(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def log_txt(self) -> Path:
        return self.path / "log.txt"

    @property
    def output_dir(self) -> Path:
        return self.path / "output"

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    def exists(self) -> bool:
        return self.run_json.is_file()

    # --- run.json -----------------------------------------------------------
    def write_spec(self, spec: RunSpec) -> None:
        write_json_atomic(self.run_json, {"run_id": self.run_id, **spec.to_dict()})

    def read_spec(self) -> RunSpec:
        return RunSpec.from_dict(orjson.loads(self.run_json.read_bytes()))

    # --- status.json ------------------------------------------------------
    def read_status(self) -> RunStatus:
        try:
            data = orjson.loads(self.status_json.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return RunStatus()
        return RunStatus.from_dict(data) if isinstance(data, dict) else RunStatus()

    def write_status(self, status: RunStatus) -> RunStatus:
        write_json_atomic(self.status_json, status.to_dict())
        return status

    def update_status(self, **changes: Any) -> RunStatus:
        """Read, change and atomically rewrite ``status.json``; ``heartbeat_at`` is set to now.

        Only the process that owns the run (launcher before the worker starts,
        then the worker/follower) calls this: there is one writer at a time.
        """
        status = self.read_status()
        if "state" in changes:
            changes["state"] = RunState.parse(changes["state"])
        extra = changes.pop("extra", None)
        if extra is not None:
            changes["extra"] = {**status.extra, **extra}
        changes.setdefault("heartbeat_at", self.clock())
        return self.write_status(replace(status, **changes))

    def heartbeat(self) -> RunStatus:
        return self.update_status()

    # --- metrics.jsonl / log.txt --------------------------------------------
    def append_metric(self, point: MetricPoint) -> None:
        append_jsonl(self.metrics_jsonl, point.to_dict())

    def append_metrics(self, points: Iterable[MetricPoint]) -> None:
        """Append several points; each line is one ``write`` (a reader never sees half a point)."""
        data = b"".join(orjson.dumps(p.to_dict()) + b"\n" for p in points)
        if data:
            self._append_bytes(self.metrics_jsonl, data)

    def log(self, *messages: str, when: float | None = None) -> None:
        """Append timestamped lines to ``log.txt`` (one write per call)."""
        stamp = self.clock() if when is None else when
        lines: list[str] = []
        for message in messages:
            lines.extend(format_log_line(part, stamp) for part in message.splitlines() or [""])
        if lines:
            self._append_bytes(self.log_txt, ("\n".join(lines) + "\n").encode("utf-8"))

    def append_log_lines(self, lines: Iterable[str]) -> None:
        """Append already formatted lines (see ``format_log_line``) in one write."""
        text = "".join(f"{line}\n" for line in lines)
        if text:
            self._append_bytes(self.log_txt, text.encode("utf-8"))

    def _append_bytes(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)

    def metrics_tail(self) -> MetricsTail:
        return MetricsTail(self.metrics_jsonl)

    def log_tail(self) -> TextTail:
        return TextTail(self.log_txt)

    def load_metrics(self) -> list[MetricPoint]:
        return self.metrics_tail().read_points()

    def last_metric(self) -> MetricPoint | None:
        record = last_record(self.metrics_jsonl)
        return MetricPoint.from_dict(record) if record is not None else None

    def last_log_lines(self, count: int = 50) -> list[str]:
        return last_lines(self.log_txt, count)

    # --- liveness ----------------------------------------------------------
    def worker_alive(self, *, now: float | None = None, stale_after: float = STALE_AFTER_S) -> bool:
        """Whether a process is keeping this run current: lock held or pid alive, and a fresh heartbeat.

        A run with no heartbeat (nor start or creation time) at all is not kept by anyone.
        """
        status = self.read_status()
        if not (is_locked(self.lock_path) or pid_alive(status.pid)):
            return False
        beat = status.heartbeat_at or status.started_at or status.created_at
        now = self.clock() if now is None else now
        return beat is not None and now - beat <= stale_after

    def owner_pid(
        self, *, now: float | None = None, stale_after: float = STALE_AFTER_S
    ) -> int | None:
        """The pid of the process proven to be this run's worker or follower, else ``None``.

        Proven means: it holds the run's lock, ``status.json`` names it, and its heartbeat is
        present and fresh. Only this pid may ever be signalled; a pid that ``status.json``
        merely names may belong to anything (a copied folder, a reused pid).
        """
        status = self.read_status()
        holder = lock_holder(self.lock_path)
        if holder is None or holder != status.pid or status.heartbeat_at is None:
            return None
        now = self.clock() if now is None else now
        return holder if now - status.heartbeat_at <= stale_after else None

    def effective_status(
        self, *, now: float | None = None, stale_after: float = STALE_AFTER_S
    ) -> RunStatus:
        """``status.json`` as a viewer should show it.

        A local run whose worker died before the end reads as ``failed``, with
        the advice the worker left in ``extra["if_stopped"]`` (if any). A
        hosted run keeps its state (the job goes on at the provider) and gets
        ``extra["follower_alive"] = False``: restart the follower
        (``backends.hosted.follower.ensure_follower``) to bring it up to date.
        """
        status = self.read_status()
        if status.state.is_terminal or self.worker_alive(now=now, stale_after=stale_after):
            return status
        if status.job_id:
            return replace(status, extra={**status.extra, "follower_alive": False})
        reason = (
            f"process {status.pid} is not running"
            if status.pid and not pid_alive(status.pid)
            else "no heartbeat for over a minute"
        )
        advice = status.extra.get("if_stopped")
        error = f"The training worker stopped without finishing ({reason})."
        if isinstance(advice, str) and advice:
            error = f"{error} {advice}"
        return replace(status, state=RunState.FAILED, error=status.error or error)


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs list."""

    run_id: str
    folder: RunFolder
    spec: RunSpec | None
    status: RunStatus
    last_point: MetricPoint | None


class RunStore:
    """``<workspace>/runs``: create, find and list run folders."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Clock = time.time,
        tag: Callable[[], str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.clock = clock
        self._tag = tag or (lambda: secrets.token_hex(2))

    @classmethod
    def of(cls, workspace: Any, **kwargs: Any) -> RunStore:
        """The store of a ``backends.workspace.Workspace``."""
        return cls(workspace.runs_dir, **kwargs)

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.root / run_id, clock=self.clock)

    def create(self, spec: RunSpec, *, status: Mapping[str, Any] | None = None) -> RunFolder:
        """A new run folder holding ``run.json`` and an initial ``status.json`` (state queued)."""
        self.root.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        for _ in range(100):
            run_id = make_run_id(spec.model, now=now, tag=self._tag())
            try:
                (self.root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of a random tag
            raise RuntimeError("could not find a free run id")
        folder = self.folder(run_id)
        folder.output_dir.mkdir()
        folder.write_spec(spec)
        initial = RunStatus(state=RunState.QUEUED, created_at=now, heartbeat_at=now)
        if status:
            initial = replace(initial, **status)
        folder.write_status(initial)
        return folder

    def find(self, name: str) -> RunFolder:
        """A run by id, unique id prefix, or path; ``KeyError`` with the reason otherwise."""
        direct = Path(name)
        if (direct / "run.json").is_file():
            return RunFolder(direct, clock=self.clock)
        exact = self.folder(name)
        if exact.exists():
            return exact
        matches = [f for f in self.list_folders() if f.run_id.startswith(name)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"No run {name!r} in {self.root}")
        raise KeyError(f"{name!r} matches {len(matches)} runs; give more of the id")

    def list_folders(self) -> list[RunFolder]:
        """Every run folder, newest first (ids start with their UTC creation time)."""
        try:
            entries = [
                e for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith(".")
            ]
        except FileNotFoundError:
            return []
        folders = [RunFolder(Path(e.path), clock=self.clock) for e in entries]
        folders = [f for f in folders if f.exists()]

        def created(folder: RunFolder) -> tuple[float, str]:
            return (folder.read_status().created_at or 0.0, folder.run_id)

        return sorted(folders, key=created, reverse=True)

    def summaries(self, *, stale_after: float = STALE_AFTER_S) -> list[RunSummary]:
        rows: list[RunSummary] = []
        for folder in self.list_folders():
            try:
                spec: RunSpec | None = folder.read_spec()
            except (OSError, ValueError, TypeError):
                spec = None
            rows.append(
                RunSummary(
                    run_id=folder.run_id,
                    folder=folder,
                    spec=spec,
                    status=folder.effective_status(stale_after=stale_after),
                    last_point=folder.last_metric(),
                )
            )
        return rows
