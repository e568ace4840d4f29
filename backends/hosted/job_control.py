"""Following and controlling a launched hosted job: the half of ``HostedBackend`` after launch.

``JobControl`` is mixed into ``HostedBackend``; it uses the connection the
backend holds (``client``, ``_call``, ``_secrets``) and its ``label`` and
``supports_pause``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from backends.backend import BackendError, NotSupported
from backends.hosted import api
from backends.hosted.errors import HostedError
from backends.runs import RunFolder
from backends.runs.values import RunResult, RunState


class JobControl:
    """Follow, cancel, pause, resume and read the result of a run's job."""

    label: str
    supports_pause: bool

    if TYPE_CHECKING:

        @property
        def _secrets(self) -> tuple[str | None, ...]: ...

        def client(self, *, max_retries: int = 2) -> Any: ...

        def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any: ...

    def follow(self, run: RunFolder, *, stop: threading.Event | None = None) -> RunState:
        from backends.hosted.job_mirror import JobMirror
        from backends.hosted.mirror import follow_run

        def mirror() -> JobMirror:
            job_id = self._job_id(run)
            client = self.client(max_retries=1)
            return JobMirror(run, client, job_id, provider=self.label, secrets=self._secrets)

        return follow_run(run, mirror, stop=stop)

    def _job_id(self, run: RunFolder) -> str:
        job_id = run.read_status().job_id
        if not job_id:
            raise BackendError("This run has no job yet (its files may still be uploading).")
        return job_id

    def _control(self, run: RunFolder, action: str) -> None:
        job_id = self._job_id(run)
        if action in ("pause", "resume") and not self.supports_pause:
            raise HostedError(
                f"{self.label} jobs cannot be {action}d from here.", kind="unsupported"
            )
        client = self.client()
        job = self._call(api.job_control, client, job_id, action)
        run.log(f"{action.capitalize()} requested for job {job_id}: now {job.status}.")
        from backends.hosted.follower import follower_alive

        if not follower_alive(run):
            from backends.hosted.job_mirror import JobMirror

            mirror = JobMirror(run, client, job_id, provider=self.label, secrets=self._secrets)
            self._call(mirror.sync_once)

    def cancel(self, run: RunFolder) -> None:
        self._control(run, "cancel")

    def pause(self, run: RunFolder) -> None:
        self._control(run, "pause")

    def resume(self, run: RunFolder) -> None:
        self._control(run, "resume")

    def save_now(self, run: RunFolder) -> None:
        raise NotSupported(
            "Hosted providers save checkpoints on their own schedule; there is no save-now."
        )

    def result(self, run: RunFolder) -> RunResult:
        status = run.read_status()
        return RunResult(
            state=status.state,
            model=status.fine_tuned_model,
            output_dir=run.output_dir,
            trained_tokens=status.trained_tokens,
            checkpoints=tuple(str(c.get("model")) for c in status.checkpoints if c.get("model")),
            error=status.error,
        )


def launch_cancelled(folder: RunFolder) -> BackendError:
    """Record a launch cancelled before the job existed (nothing billed); the error to raise."""
    folder.update_status(state=RunState.CANCELLED, ended_at=time.time(), detail="", pid=None)
    folder.log("Cancelled before the job was created; nothing was billed.")
    return BackendError("Cancelled before the job was created.")


def launch_failed(folder: RunFolder, explained: Exception) -> Exception:
    """Record a launch that failed with ``explained`` (already in words); the error to raise."""
    folder.update_status(
        state=RunState.FAILED, error=str(explained), ended_at=time.time(), detail="", pid=None
    )
    folder.log(f"Launch failed: {explained}")
    return explained
