"""Cancel, pause, resume or checkpoint a run, whatever trains it: the one control path.

Every caller (the monitor, ``finetune-tui cancel``/``save``) comes here. ``check``
asks the registry whether the run's backend can do the action at all
(``BackendInfo.pause`` / ``save_now``) and the run's state whether it can be done
now, so a UI can grey the action out with the reason; the ``cancel`` … ``save_now``
functions check the same, then call the backend that launched the run
(``registry.reconnect``). A hosted backend calls its provider's API (credential from
the environment); the local backend signals its worker (``SIGTERM``: save, then end
``cancelled``; ``SIGUSR1``: save a checkpoint now and go on), only ever the process
proven to be the run's (``RunFolder.owner_pid``).

Whatever a backend cannot do raises ``NotSupported`` with the reason; anything not
possible now raises ``BackendError``.
"""

from __future__ import annotations

from enum import Enum

from backends import registry
from backends.backend import Availability, BackendError, NotSupported
from backends.runs import RunFolder, RunStatus
from backends.runs.values import RunSpec, RunState


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
    info = registry.find(backend)
    if info is None:
        return _no(f"Unknown backend {backend!r} in run.json: it cannot be controlled from here.")
    if action is Action.SAVE_NOW and not info.save_now:
        return _no("Hosted providers save checkpoints on their own schedule; there is no save-now.")
    if action in (Action.PAUSE, Action.RESUME) and not info.pause:
        return _no(
            f"{info.label} runs cannot be paused."
            if info.hosted
            else "Local runs cannot be paused.",
            "Save now (a checkpoint), then cancel: the run can be continued from it later.",
        )
    return _YES


def check(spec: RunSpec | None, status: RunStatus, action: Action) -> Availability:
    """Whether ``action`` can be done to a run in this state now, and if not, why."""
    if spec is None:
        return _no("run.json could not be read, so the backend is unknown.")
    supported = backend_supports(spec.backend, action)
    if not supported.ok:
        return supported
    if status.state.is_terminal:
        return _no(f"The run has already ended ({status.state.value}).")
    if registry.is_hosted(spec.backend):
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


def cancel(run: RunFolder) -> str:
    """Stop the run; returns what was done, in words."""
    spec, status = _require(run, Action.CANCEL)
    registry.reconnect(run).cancel(run)
    if registry.is_hosted(spec.backend):
        return f"Cancel requested for job {status.job_id}."
    return f"Cancel requested: the worker (pid {status.pid}) saves and stops."


def pause(run: RunFolder) -> str:
    _spec, status = _require(run, Action.PAUSE)
    registry.reconnect(run).pause(run)
    return f"Pause requested for job {status.job_id}."


def resume(run: RunFolder) -> str:
    _spec, status = _require(run, Action.RESUME)
    registry.reconnect(run).resume(run)
    return f"Resume requested for job {status.job_id}."


def save_now(run: RunFolder) -> str:
    _spec, status = _require(run, Action.SAVE_NOW)
    registry.reconnect(run).save_now(run)
    return f"Checkpoint requested: the worker (pid {status.pid}) saves at the next step."


def perform(run: RunFolder, action: Action) -> str:
    """Do ``action`` to ``run``; returns what was done, raises ``BackendError`` / ``NotSupported``."""
    return {
        Action.CANCEL: cancel,
        Action.PAUSE: pause,
        Action.RESUME: resume,
        Action.SAVE_NOW: save_now,
    }[action](run)
