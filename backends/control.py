"""Cancel, pause, resume or checkpoint a run, whatever trains it: one call, chosen by ``run.json``.

Hosted runs (``openai``, ``azure``) go through the hosted backend, with the
credential from the environment. Local runs are a detached worker process
whose pid is in ``status.json``; it is told by signal:

    SIGTERM  graceful cancel: the worker saves, then ends ``cancelled``
    SIGUSR1  save a checkpoint now, and go on training

Whatever a backend cannot do raises ``NotSupported`` with the reason;
``check`` says the same beforehand, so a UI can grey the action out.
"""

from __future__ import annotations

import os
import signal
from enum import Enum
from typing import TYPE_CHECKING

from backends.backend import Availability, BackendError, NotSupported
from backends.runs import RunFolder, RunStatus
from backends.runs.values import RunSpec, RunState

if TYPE_CHECKING:
    from backends.hosted.backend import HostedBackend

LOCAL = "local"
HOSTED = ("openai", "azure")


class Action(str, Enum):
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    SAVE_NOW = "save_now"

    @property
    def label(self) -> str:
        return {"cancel": "Cancel", "pause": "Pause", "resume": "Resume", "save_now": "Save now"}[
            self.value
        ]


def _no(reason: str, hint: str = "") -> Availability:
    return Availability(False, reason, hint)


_YES = Availability(True, "")


def backend_supports(backend: str, action: Action) -> Availability:
    """Whether a backend can do ``action`` at all (whatever state the run is in)."""
    if backend in HOSTED:
        if action is Action.SAVE_NOW:
            return _no(
                "Hosted providers save checkpoints on their own schedule; there is no save-now."
            )
        return _YES
    if backend == LOCAL:
        if action in (Action.PAUSE, Action.RESUME):
            return _no(
                "Local runs cannot be paused.",
                "Save now (a checkpoint), then cancel: the run can be continued from it later.",
            )
        return _YES
    return _no(f"Unknown backend {backend!r} in run.json: it cannot be controlled from here.")


def check(spec: RunSpec | None, status: RunStatus, action: Action) -> Availability:
    """Whether ``action`` can be done to a run in this state now, and if not, why."""
    if spec is None:
        return _no("run.json could not be read, so the backend is unknown.")
    supported = backend_supports(spec.backend, action)
    if not supported.ok:
        return supported
    if status.state.is_terminal:
        return _no(f"The run has already ended ({status.state.value}).")
    if spec.backend in HOSTED:
        if not status.job_id:
            return _no("This run has no job yet (its files may still be uploading).")
        if action is Action.PAUSE and status.state is not RunState.RUNNING:
            return _no(f"Only a running job can be paused (this one is {status.state.value}).")
        if action is Action.RESUME and status.state is not RunState.PAUSED:
            return _no("Only a paused job can be resumed.")
        return _YES
    if not status.pid:
        return _no("status.json names no worker process for this run.")
    if action is Action.SAVE_NOW and status.state is not RunState.RUNNING:
        return _no(f"A checkpoint can be saved while training runs (now {status.state.value}).")
    return _YES


def _require(run: RunFolder, action: Action) -> tuple[RunSpec, RunStatus]:
    try:
        spec = run.read_spec()
        status = run.effective_status()  # UnreadableFile (a ValueError) when status.json is damaged
    except (OSError, ValueError, TypeError) as error:
        raise BackendError(f"Run {run.run_id} cannot be read: {error}") from None
    verdict = check(spec, status, action)
    if not verdict.ok:
        if not backend_supports(spec.backend, action).ok:
            raise NotSupported(verdict.reason, hint=verdict.hint)
        raise BackendError(verdict.reason, hint=verdict.hint)
    return spec, status


def _signal_worker(run: RunFolder, status: RunStatus, signum: signal.Signals) -> None:
    if not run.worker_alive() or status.pid is None:
        raise BackendError(
            f"The worker of {run.run_id} (pid {status.pid}) is not running: nothing to signal."
        )
    try:
        os.kill(status.pid, signum)
    except ProcessLookupError:
        raise BackendError(f"The worker (pid {status.pid}) has just ended.") from None
    except PermissionError:
        raise BackendError(
            f"Not allowed to signal the worker (pid {status.pid}): it belongs to another user."
        ) from None


def _hosted(run: RunFolder) -> HostedBackend:
    from backends.hosted.backend import backend_for_run

    return backend_for_run(run)


def cancel(run: RunFolder) -> str:
    """Stop the run; returns what was done, in words."""
    spec, status = _require(run, Action.CANCEL)
    if spec.backend in HOSTED:
        _hosted(run).cancel(run)
        return f"Cancel requested for job {status.job_id}."
    _signal_worker(run, status, signal.SIGTERM)
    return f"Cancel requested: the worker (pid {status.pid}) saves and stops."


def pause(run: RunFolder) -> str:
    _spec, status = _require(run, Action.PAUSE)
    _hosted(run).pause(run)
    return f"Pause requested for job {status.job_id}."


def resume(run: RunFolder) -> str:
    _spec, status = _require(run, Action.RESUME)
    _hosted(run).resume(run)
    return f"Resume requested for job {status.job_id}."


def save_now(run: RunFolder) -> str:
    _spec, status = _require(run, Action.SAVE_NOW)
    _signal_worker(run, status, signal.SIGUSR1)
    return f"Checkpoint requested: the worker (pid {status.pid}) saves at the next step."


def perform(run: RunFolder, action: Action) -> str:
    """Do ``action`` to ``run``; returns what was done, raises ``BackendError`` / ``NotSupported``."""
    return {
        Action.CANCEL: cancel,
        Action.PAUSE: pause,
        Action.RESUME: resume,
        Action.SAVE_NOW: save_now,
    }[action](run)
