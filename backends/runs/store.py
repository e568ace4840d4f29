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
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from backends.files import (
    append_jsonl,
    append_private,
    folder_problem,
    private_dir,
    write_json_atomic,
)
from backends.processes import is_locked, lock_holder, pid_alive
from backends.runs.ids import make_run_id, model_slug, run_id_problem
from backends.runs.status import RunStatus
from backends.runs.tail import MetricsTail, TextTail, iter_records_backwards, last_lines
from backends.runs.values import MetricPoint, RunSpec, RunState

Clock = Callable[[], float]
"""Returns Unix time in seconds; injected so tests control time."""

__all__ = [
    "STALE_AFTER_S",
    "Clock",
    "RunFolder",
    "RunIdRefused",
    "RunStatus",
    "RunStore",
    "RunSummary",
    "UnreadableFile",
    "format_log_line",
    "make_run_id",
    "model_slug",
]

STALE_AFTER_S = 90.0
"""A worker that has not written a heartbeat for this long is presumed dead."""


class UnreadableFile(ValueError):
    """A file of a run folder that exists but cannot be read as what it should hold."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = Path(path)
        self.why = why
        super().__init__(f"{self.path.name}: {why}")


class RunIdRefused(KeyError):
    """A name that can never be a run of this store (empty, ``..``, a link out of ``runs/``)."""


MIRROR_CURSOR = ".mirror.json"
"""Where a hosted run's follower keeps its cursor, and the job id (``backends.hosted.job_mirror``)."""


def _why(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "missing"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    if isinstance(error, orjson.JSONDecodeError):
        return "not JSON" if error.doc else "empty"
    return str(error)


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
    def debug_txt(self) -> Path:
        """The tracebacks of a failure, for a developer: ``log.txt`` keeps the human message."""
        return self.path / "debug.txt"

    @property
    def output_dir(self) -> Path:
        return self.path / "output"

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    def exists(self) -> bool:
        return self.run_json.is_file()

    def problem(self) -> str | None:
        """``"run.json: missing"``, ``"status.json: pid is 'abc', not a process id"``... or ``None``."""
        try:
            self.read_spec()
            self.read_status()
        except UnreadableFile as error:
            return str(error)
        return None

    # --- run.json -----------------------------------------------------------
    def write_spec(self, spec: RunSpec) -> None:
        write_json_atomic(self.run_json, {"run_id": self.run_id, **spec.to_dict()})

    def read_spec(self) -> RunSpec:
        """``run.json``; ``UnreadableFile`` (a ``ValueError``) says why it cannot be read."""
        try:
            data = orjson.loads(self.run_json.read_bytes())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return RunSpec.from_dict(data)
        except (OSError, ValueError, TypeError) as error:
            raise UnreadableFile(self.run_json, _why(error)) from error

    # --- status.json ------------------------------------------------------
    def read_status(self) -> RunStatus:
        """``status.json`` (a fresh ``RunStatus`` while it is not written yet).

        ``UnreadableFile`` when it exists but is empty, not JSON or has a damaged value:
        a viewer says so rather than guess a state.
        """
        try:
            data = orjson.loads(self.status_json.read_bytes())
        except FileNotFoundError:
            return RunStatus()
        except (OSError, orjson.JSONDecodeError) as error:
            raise UnreadableFile(self.status_json, _why(error)) from error
        if not isinstance(data, dict):
            raise UnreadableFile(self.status_json, "not a JSON object")
        try:
            return RunStatus.from_dict(data)
        except (ValueError, TypeError) as error:
            raise UnreadableFile(self.status_json, str(error)) from error

    def recovered_job_id(self) -> str | None:
        """A hosted run's job id from the follower's cursor, for when ``status.json`` is damaged."""
        try:
            data = orjson.loads((self.path / MIRROR_CURSOR).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        job_id = data.get("job_id") if isinstance(data, dict) else None
        return job_id if isinstance(job_id, str) and job_id.isprintable() else None

    def recovered_steps(self) -> tuple[int, int | None] | None:
        """``(step, planned steps)`` of the newest checkpoint in ``output/checkpoints``, or ``None``.

        Read from the checkpoint's ``trainer_state.json``: what a local run really trained,
        whatever ``status.json`` says (or when it cannot be read).
        """
        found: list[tuple[int, Path]] = []
        for path in (self.output_dir / "checkpoints").glob("checkpoint-*"):
            suffix = path.name.rsplit("-", 1)[-1]
            if suffix.isdigit() and len(suffix) < 12 and (path / "trainer_state.json").is_file():
                found.append((int(suffix), path))
        if not found:
            return None
        step, path = max(found)
        try:
            state = orjson.loads((path / "trainer_state.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return step, None
        planned = state.get("max_steps") if isinstance(state, dict) else None
        ok = isinstance(planned, int) and not isinstance(planned, bool) and planned > 0
        return step, planned if ok else None

    def _status_to_update(self) -> RunStatus:
        """What ``update_status`` starts from: a damaged file is replaced (keeping the job id)."""
        try:
            return self.read_status()
        except UnreadableFile:
            return RunStatus(job_id=self.recovered_job_id())

    def write_status(self, status: RunStatus) -> RunStatus:
        write_json_atomic(self.status_json, status.to_dict())
        return status

    def update_status(self, **changes: Any) -> RunStatus:
        """Read, change and atomically rewrite ``status.json``; ``heartbeat_at`` is set to now.

        Only the process that owns the run (launcher before the worker starts,
        then the worker/follower) calls this: there is one writer at a time.
        """
        status = self._status_to_update()
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
        append_private(path, data)

    def metrics_tail(self) -> MetricsTail:
        return MetricsTail(self.metrics_jsonl)

    def log_tail(self) -> TextTail:
        return TextTail(self.log_txt)

    def load_metrics(self) -> list[MetricPoint]:
        return self.metrics_tail().read_points()

    def last_metric(self) -> MetricPoint | None:
        """The last readable point of ``metrics.jsonl`` (a damaged last line is passed over)."""
        for record in iter_records_backwards(self.metrics_jsonl):
            try:
                return MetricPoint.from_dict(record)
            except (ValueError, TypeError):
                continue
        return None

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

        ``UnreadableFile`` when ``status.json`` is damaged: no state is made up for it.
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
        free = free_bytes(self.path)
        if free is not None and free < DISK_FULL_BELOW:
            advice = (
                f"The disk holding {self.path} is full ({free:,} bytes free): free space "
                "(checkpoints in output/checkpoints take the most), then `finetune-tui resume "
                f"{self.run_id}` continues from the last checkpoint."
            )
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
    problem: str | None = None
    """``"status.json: empty"``: what makes the run unreadable (``status`` is then a stand-in)."""


DISK_FULL_BELOW = 8 << 20
"""Less free space than this where a run lives: a worker that died there most likely hit it."""


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding ``path`` (``None`` when it cannot be told)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


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
        self.skipped: list[str] = []
        """What the last ``list_folders`` left out and why (links out of ``runs/``...)."""

    @classmethod
    def of(cls, workspace: Any, **kwargs: Any) -> RunStore:
        """The store of a ``backends.workspace.Workspace``."""
        return cls(workspace.runs_dir, **kwargs)

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.root / run_id, clock=self.clock)

    def problem(self) -> str | None:
        """Why ``runs/`` cannot hold runs (it, or the workspace, is a file...), or ``None``."""
        return folder_problem(self.root)

    def create(self, spec: RunSpec, *, status: Mapping[str, Any] | None = None) -> RunFolder:
        """A new run folder holding ``run.json`` and an initial ``status.json`` (state queued)."""
        private_dir(self.root)
        now = self.clock()
        for _ in range(100):
            run_id = make_run_id(spec.model, now=now, tag=self._tag())
            try:
                (self.root / run_id).mkdir(mode=0o700)
                os.chmod(self.root / run_id, 0o700)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of a random tag
            raise RuntimeError("could not find a free run id")
        folder = self.folder(run_id)
        try:
            private_dir(folder.output_dir)
            initial = RunStatus(state=RunState.QUEUED, created_at=now, heartbeat_at=now)
            if status:
                initial = replace(initial, **status)
            folder.write_status(initial)  # before run.json: a listed run always has its status
            folder.write_spec(spec)
        except BaseException:  # a spec that cannot be written, a full disk: leave nothing behind
            shutil.rmtree(folder.path, ignore_errors=True)
            raise
        return folder

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` (links followed) is a folder directly in ``runs/``."""
        try:
            return path.resolve().parent == self.root.resolve()
        except (OSError, RuntimeError):  # a loop of links
            return False

    def find(self, name: str) -> RunFolder:
        """A run by id, unique id prefix, or the path of its folder in this store.

        ``RunIdRefused`` (a ``KeyError``) for a name that can never be a run here: empty,
        with ``..``, control characters, or a link leading out of ``runs/``; ``KeyError`` with
        the reason when no run matches.
        """
        if name and ("/" in name or os.sep in name):
            path = Path(name)
            if ".." in path.parts:
                raise RunIdRefused(f"{name!r}: name a run by its id, not a path with '..'")
            if not path.is_dir():
                raise KeyError(f"No run {name!r} in {self.root}")
            if not self._inside(path):
                raise KeyError(f"{name} is not a run folder of {self.root}")
            name = path.resolve().name
        problem = run_id_problem(name)
        if problem:
            raise RunIdRefused(problem)
        exact = self.folder(name)
        if exact.path.is_symlink() or exact.path.is_dir():
            if not self._inside(exact.path):
                raise RunIdRefused(
                    f"Run {name!r} is a link to {os.path.realpath(exact.path)}, outside {self.root}"
                )
            if exact.path.is_dir():
                return exact
        matches = [f for f in self.list_folders() if f.run_id.startswith(name)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"No run {name!r} in {self.root}")
        raise KeyError(f"{name!r} matches {len(matches)} runs; give more of the id")

    def list_folders(self) -> list[RunFolder]:
        """Every run folder, newest first (ids start with their UTC creation time).

        A folder with ``run.json`` or ``status.json`` is a run, even a damaged one. A link
        leading out of ``runs/`` and a name that cannot be a run id are left out, and
        said in ``skipped``.
        """
        skipped: list[str] = []
        self.skipped = skipped
        try:
            entries = [e for e in os.scandir(self.root) if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        folders: list[RunFolder] = []
        for entry in entries:
            try:
                if not entry.is_dir():
                    continue
            except OSError:
                continue
            path = Path(entry.path)
            if entry.is_symlink() and not self._inside(path):
                skipped.append(
                    f"{entry.name}: left out, a link to {os.path.realpath(path)} outside {self.root}"
                )
                continue
            problem = run_id_problem(entry.name)
            if problem:
                skipped.append(f"left out: {problem}")
                continue
            folder = RunFolder(path, clock=self.clock)
            if folder.run_json.exists() or folder.status_json.exists():
                folders.append(folder)

        def created(folder: RunFolder) -> tuple[float, str]:
            try:
                when = folder.read_status().created_at
            except UnreadableFile:
                when = None
            return (when or 0.0, folder.run_id)

        return sorted(folders, key=created, reverse=True)

    def summaries(self, *, stale_after: float = STALE_AFTER_S) -> list[RunSummary]:
        rows: list[RunSummary] = []
        for folder in self.list_folders():
            problem: str | None = None
            try:
                spec: RunSpec | None = folder.read_spec()
            except UnreadableFile as error:
                spec, problem = None, str(error)
            try:
                status = folder.effective_status(stale_after=stale_after)
            except UnreadableFile as error:
                status = RunStatus(job_id=folder.recovered_job_id())
                problem = problem or str(error)
            rows.append(
                RunSummary(
                    run_id=folder.run_id,
                    folder=folder,
                    spec=spec,
                    status=status,
                    last_point=folder.last_metric(),
                    problem=problem,
                )
            )
        return rows
