"""The training worker: one detached process that trains one run and keeps its folder current.

    python -m backends.local.worker RUN_DIR

Started by ``LocalBackend.launch`` / ``resume`` in its own session (closing
the UI, an SSH drop or Ctrl-C in the launching terminal do not reach it),
stdout/stderr appended to ``log.txt``. It holds ``<run>/.lock`` for its whole
life, writes its pid to ``status.json`` and a heartbeat every few seconds.

Control contract (the Monitor screen and ``finetune-tui cancel`` rely on it):

- ``SIGTERM`` or ``SIGINT``: graceful cancel — at the end of the current step
  it saves a checkpoint and the adapter, and ends as ``cancelled``. Before
  training has started it ends at once.
- ``SIGUSR1``: save a checkpoint now and keep training; ``log.txt`` says where.
- ``SIGHUP`` is ignored.

Resume: when ``status.json`` has ``extra.resume_requested``, training
continues from the last checkpoint in ``output/checkpoints`` and the points
of ``metrics.jsonl`` after that step are dropped (the file is replaced, so a
viewer's tail starts over), as those steps are trained again.

Under ``accelerate launch`` every process runs this module; rank 0 owns the
folder (lock, status, metrics), the others only train.

Exit status: 0 succeeded or cancelled (or another worker owns the run),
1 failed (explained in ``status.json`` and ``log.txt``), 2 usage.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from backends.backend import BackendError
from backends.files import keep_private, write_atomic
from backends.local.callback import ControlFlags, Reporter
from backends.local.failures import STOPPED_ADVICE, explain
from backends.local.settings import LocalSettings
from backends.locations import heartbeat_s
from backends.processes import LockHeld, RunLock
from backends.runs import RunFolder
from backends.runs.values import RunState
from backends.text import counted

SignalHandler = Callable[[int, FrameType | None], Any] | int | None
"""What ``signal.getsignal`` returns and ``signal.signal`` accepts."""

MODULE = "backends.local.worker"
DEFAULT_HEARTBEAT_S = 10.0


class CancelledEarly(BaseException):
    """A cancel arrived before training started: nothing to save.

    A ``BaseException`` (like ``KeyboardInterrupt``), so library code that
    catches ``Exception`` while loading does not swallow it.
    """


class _Signals:
    def __init__(self, flags: ControlFlags) -> None:
        self.flags = flags

    def cancel(self, signum: int, _frame: FrameType | None) -> None:
        self.flags.cancel_reason = f" ({signal.Signals(signum).name})"
        self.flags.cancel.set()
        if not self.flags.in_training.is_set():
            raise CancelledEarly

    def save(self, _signum: int, _frame: FrameType | None) -> None:
        self.flags.save_now.set()

    def install(self) -> dict[signal.Signals, SignalHandler]:
        """Install the handlers; the previous ones, to put back."""
        previous = {
            s: signal.getsignal(s)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP)
        }
        signal.signal(signal.SIGTERM, self.cancel)
        signal.signal(signal.SIGINT, self.cancel)
        signal.signal(signal.SIGUSR1, self.save)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        return previous


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def last_checkpoint(folder: RunFolder) -> str | None:
    """The newest ``output/checkpoints/checkpoint-N`` that holds a trainer state."""
    root = folder.output_dir / "checkpoints"
    found = []
    for path in root.glob("checkpoint-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and (path / "trainer_state.json").is_file():
            found.append((int(suffix), path))
    return str(max(found)[1]) if found else None


def trim_metrics(folder: RunFolder, last_step: int) -> int:
    """Keep the points up to ``last_step`` (replaces the file); how many were dropped."""
    if not folder.metrics_jsonl.is_file():
        return 0
    kept: list[bytes] = []
    dropped = 0
    for line in folder.metrics_jsonl.read_bytes().splitlines():
        try:
            step = orjson.loads(line).get("step", 0)
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(step, int) and step <= last_step:
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        write_atomic(folder.metrics_jsonl, b"".join(k + b"\n" for k in kept))
    return dropped


LIBRARY_NOISE: tuple[type[Warning], ...] = (
    DeprecationWarning,
    PendingDeprecationWarning,
    FutureWarning,
    ImportWarning,
    ResourceWarning,
)
"""Warnings addressed to the authors of the code that calls a library, not to the person training."""


class WarningLog:
    """Python warnings into ``log.txt`` as one readable line each, once each.

    Library noise (deprecations, future changes) is left out; what remains
    (a user warning, a runtime warning: e.g. a tokenizer without a pad token)
    is written once as "Warning: <message>", never the raw
    ``file.py:12: FutureWarning: … warnings.warn(`` pair.
    """

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.seen: set[tuple[str, str]] = set()

    def show(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, LIBRARY_NOISE):
            return
        text = " ".join(str(message).split())
        key = (category.__name__, text)
        if key in self.seen:
            return
        self.seen.add(key)
        with contextlib.suppress(OSError):
            self.log(f"Warning: {text}")

    def install(self) -> Callable[..., None]:
        """Route ``warnings.warn`` here; returns the previous handler."""
        previous = warnings.showwarning
        warnings.showwarning = self.show
        return previous


def _heartbeat_loop(reporter: Reporter, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        with contextlib.suppress(OSError):  # a full disk must not kill training
            reporter.heartbeat()


def _write_traceback(folder: RunFolder, error: BaseException) -> str:
    """The traceback into the run's ``debug.txt`` (never the log a person reads); its name."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        with folder.debug_txt.open("a", encoding="utf-8") as out:
            out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} worker {os.getpid()}\n{text}\n")
    except OSError:
        return ""
    return folder.debug_txt.name


def run_worker(run_dir: Path) -> int:
    folder = RunFolder(run_dir)
    if not folder.exists():
        print(f"worker: no run folder at {run_dir}", file=sys.stderr)
        return 2
    main = is_main_process()
    lock = RunLock(folder.lock_path)
    if main:
        try:
            lock.acquire(wait=0.5)
        except LockHeld:
            print(f"worker: another worker owns {run_dir}", file=sys.stderr)
            return 0
    flags = ControlFlags()
    signals = _Signals(flags)
    previous_handlers = signals.install()
    reporter = Reporter(folder, enabled=main)
    stop_beat = threading.Event()
    every = heartbeat_s(DEFAULT_HEARTBEAT_S)
    beat = threading.Thread(target=_heartbeat_loop, args=(reporter, stop_beat, every), daemon=True)
    WarningLog(reporter.log).install()
    settings = LocalSettings()
    try:
        settings = LocalSettings.from_spec(folder.read_spec())
        previous = folder.read_status()
        resume_from = last_checkpoint(folder) if previous.extra.get("resume_requested") else None
        reporter.status(
            state=RunState.RUNNING,
            pid=os.getpid(),
            started_at=previous.started_at or time.time(),
            ended_at=None,
            error=None,
            detail="starting",
            extra={"if_stopped": STOPPED_ADVICE, "resume_requested": False},
        )
        beat.start()
        reporter.log(f"Worker {os.getpid()} started for {folder.run_id}.")
        done = folder.recovered_steps() if resume_from else None
        if done is not None and done[1] is not None and done[0] >= done[1]:
            raise BackendError(  # the Trainer would train one more step: "step 13 of 12"
                f"This run already trained all {done[1]} planned steps; nothing is left to resume."
            )
        if resume_from and main:
            step = int(resume_from.rsplit("-", 1)[-1])
            dropped = trim_metrics(folder, step)
            reporter.log(
                f"Resuming at step {step}; {dropped} later metric point(s) will be redone."
            )
        if settings.is_dpo:
            from backends.local.dpo import run_dpo_training as train
        else:
            from backends.local.training import run_training as train
        outcome = train(folder.path, reporter, flags, resume_from=resume_from)
        state = RunState.CANCELLED if outcome.cancelled else RunState.SUCCEEDED
        files = [str(p) for p in (outcome.output, outcome.merged) if p is not None]
        reporter.status(
            state=state,
            ended_at=time.time(),
            detail="",
            trained_tokens=outcome.trained_tokens,
            result_files=tuple(files),
            extra={"output": str(outcome.output) if outcome.output else None},
        )
        reporter.log(
            f"Run {state.value} after {counted(outcome.steps, 'step')}."
            + (" `finetune-tui resume` continues it." if outcome.cancelled else "")
        )
        return 0
    except CancelledEarly:
        reporter.status(state=RunState.CANCELLED, ended_at=time.time(), detail="")
        reporter.log("Cancelled before training started; nothing to save.")
        return 0
    except BaseException as error:  # everything ends in a status a person can read
        failure = explain(error, settings)
        debug = _write_traceback(folder, error)  # never raises: a full disk returns ""
        try:
            reporter.status(
                state=RunState.FAILED,
                ended_at=time.time(),
                error=failure.message,
                detail="",
                extra={"failure_kind": failure.kind},
            )
            reporter.log(f"Failed: {failure.message}")
            if debug:
                reporter.log(f"The details for a bug report are in {debug}.")
        except OSError:  # no room even for that: viewers see the dead worker (and the disk)
            pass
        return 1
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        stop_beat.set()
        if lock.held:
            lock.release()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(f"usage: python -m {MODULE} RUN_DIR", file=sys.stderr)
        return 2
    keep_private()
    return run_worker(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
