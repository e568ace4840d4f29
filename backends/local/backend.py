"""``Backend`` for training on this machine: checks, launch, control, result.

Launch = check the spec, create the run folder, start the detached worker
(``backends.local.worker``), return. From then on only the worker writes the
folder; every viewer reads it. Control (callers go through ``backends.control``)
is a signal to the worker (see the worker's docstring for the contract):
``cancel(run)`` sends ``SIGTERM``, ``save_now(run)`` sends ``SIGUSR1``, both through
``signal_worker``, which signals only the process proven to be the run's.

Resume (of a cancelled or failed run) happens in the same run folder: the
metrics history stays one file, the run id stays the same, and the worker
continues from the last checkpoint in ``output/checkpoints``.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from pathlib import Path

from backends.backend import Availability, BackendError, NotSupported, Problem, ProgressCallback
from backends.files import sha256_of
from backends.local.launch import worker_argv, worker_env
from backends.local.memory import (
    GpuInventory,
    MemoryEstimate,
    advice_for_memory,
    estimate_memory,
    gib,
    visible_gpus,
)
from backends.local.models import ModelUnavailable, read_model_config, resolve_model
from backends.local.settings import BACKEND_NAME, PRECOMPUTED_REFERENCE, QLORA, LocalSettings
from backends.processes import spawn_detached
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunResult, RunSpec, RunState

REQUIRED_PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate")
INSTALL_HINT = "pip install 'finetune-tui[local]'"
CPU_QLORA_REFUSAL = (
    "QLoRA needs an NVIDIA GPU with CUDA (4-bit bitsandbytes) and none is visible here. "
    "Choose the LoRA adapter: the same adapter on a 16-bit base model."
)


def missing_packages() -> list[str]:
    return [name for name in REQUIRED_PACKAGES if importlib.util.find_spec(name) is None]


def signal_worker(run: RunFolder, signum: signal.Signals, what: str) -> int:
    """Send ``signum`` to the run's own worker and return its pid; the one way a run is signalled.

    Only a process proven to be this run's (``RunFolder.owner_pid``: it holds the run's lock,
    ``status.json`` names it, its heartbeat is fresh) is ever signalled; a pid that
    ``status.json`` merely names is left alone, whatever it is.
    """
    status = run.read_status()
    if status.state.is_terminal:
        raise BackendError(f"Run {run.run_id} has already ended ({status.state.value}).")
    pid = run.owner_pid()
    if pid is None:
        raise BackendError(
            f"Run {run.run_id} has no running worker to {what}: no live process holds the run.",
            hint="Its status will read failed; `finetune-tui resume` restarts it from its last checkpoint.",
        )
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise BackendError(f"The worker of {run.run_id} (pid {pid}) has just ended.") from None
    except PermissionError:
        raise BackendError(
            f"Not allowed to signal the worker (pid {pid}): it belongs to another user."
        ) from None
    return pid


def cancel(run: RunFolder) -> None:
    """Graceful stop: the worker saves a checkpoint and the adapter, then ends as ``cancelled``."""
    pid = signal_worker(run, signal.SIGTERM, "cancel")
    run.log(f"Cancel requested (SIGTERM to worker {pid}).")


def save_now(run: RunFolder) -> None:
    """Ask the worker to save a checkpoint at the end of the current step and go on."""
    pid = signal_worker(run, signal.SIGUSR1, "save")
    run.log(f"Checkpoint requested (SIGUSR1 to worker {pid}).")


def start_worker(folder: RunFolder) -> int:
    """Start the detached worker for ``folder``; its pid (the launcher's, under accelerate)."""
    settings = LocalSettings.from_spec(folder.read_spec())
    child = spawn_detached(
        worker_argv(folder.path, settings),
        log_path=folder.log_txt,
        env=worker_env(),
        cwd=folder.path,
    )
    # Written before the worker runs: it replaces the pid with its own (rank 0) once started.
    folder.update_status(pid=child.pid, detail="starting the worker")
    return child.pid


class LocalBackend:
    """Training on this machine's GPUs (or CPU) with transformers + peft + trl."""

    name = BACKEND_NAME
    label = "Local GPU"
    supports_pause = False

    def __init__(self, *, inventory: GpuInventory | None = None) -> None:
        self._inventory = inventory

    @classmethod
    def for_run(cls, folder: RunFolder, *, secret: str | None = None) -> LocalBackend:
        """The backend of a local run (no connection to restore: the worker is on this machine)."""
        del folder, secret
        return cls()

    @property
    def inventory(self) -> GpuInventory:
        if self._inventory is None:
            self._inventory = visible_gpus()
        return self._inventory

    def availability(self) -> Availability:
        missing = missing_packages()
        if missing:
            return Availability(
                False,
                f"The local training extra is not installed (missing: {', '.join(missing)}).",
                INSTALL_HINT,
            )
        gpus = self.inventory.gpus
        if not gpus:
            return Availability(
                True, self.inventory.note, "Small models only, or use a GPU machine."
            )
        names = "; ".join(f"{g.name} ({gib(g.free_bytes)} free)" for g in gpus)
        return Availability(True, f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {names}.")

    # --- before launch ------------------------------------------------------
    def estimate(self, spec: RunSpec) -> MemoryEstimate:
        """GPU memory the run needs (from the model config only); raises ``ModelUnavailable``."""
        settings = LocalSettings.from_spec(spec)
        config = read_model_config(resolve_model(spec.model))
        return estimate_memory(
            config,
            settings.adapter,
            batch_size=settings.batch_size,
            max_length=settings.max_length,
            gradient_checkpointing=settings.gradient_checkpointing,
            lora_r=settings.lora_r,
            target_modules=settings.target_modules,
            objective=settings.objective,
            precomputed_reference=settings.reference == PRECOMPUTED_REFERENCE,
        )

    def prepare(self, spec: RunSpec) -> list[Problem]:
        problems: list[Problem] = []
        if spec.backend != self.name:
            problems.append(
                Problem(f"This run is for {spec.backend!r}, not local.", where="backend")
            )
        settings = LocalSettings.from_spec(spec)
        problems.extend(settings.problems())
        if settings.adapter == QLORA and not self.inventory.any:
            problems.append(Problem(CPU_QLORA_REFUSAL, where="adapter"))
        if settings.gpus > max(1, len(self.inventory.gpus)):
            problems.append(
                Problem(
                    f"{settings.gpus} GPUs requested, {len(self.inventory.gpus)} visible.",
                    where="gpus",
                )
            )
        problems.extend(self._check_data(spec, settings))
        if settings.from_run:
            from backends.local.dpo import starting_point

            try:
                starting_point(settings.from_run, settings)
            except BackendError as error:
                problems.append(Problem(error.message, where="from_run"))
        try:
            estimate = self.estimate(spec)
        except ModelUnavailable as error:
            problems.append(Problem(str(error), where="model"))
        except (BackendError, ValueError, KeyError, TypeError) as error:
            problems.append(
                Problem(
                    f"Cannot estimate memory for {spec.model}: {error}", fatal=False, where="model"
                )
            )
        else:
            problems.extend(self._check_memory(estimate, settings))
        return problems

    def _check_data(self, spec: RunSpec, settings: LocalSettings) -> list[Problem]:
        problems: list[Problem] = []
        if settings.is_dpo:
            from backends.local.dataset import DatasetRejected
            from backends.local.preferences import load_preferences

            for label, source, split in (
                ("training", spec.dataset, "train"),
                ("validation", spec.validation, "test"),
            ):
                if source is None:
                    continue
                try:
                    load_preferences(source, split=split)
                except DatasetRejected as error:
                    problems.append(Problem(f"The {label} data: {error}", where=str(source)))
            return problems
        for label, path, digest in (
            ("training", spec.dataset, spec.dataset_sha256),
            ("validation", spec.validation, spec.validation_sha256),
        ):
            if path is None:
                continue
            if not Path(path).is_file():  # its findings come from ``backends.preflight``
                continue
            if digest and sha256_of(Path(path)) != digest:
                problems.append(
                    Problem(
                        f"The {label} file {path} changed since it was inspected.", where=str(path)
                    )
                )
        return problems

    def _check_memory(self, estimate: MemoryEstimate, settings: LocalSettings) -> list[Problem]:
        gpus = self.inventory.gpus[: settings.gpus]
        need = f"about {gib(estimate.total)} per GPU for {settings.adapter}"
        if not gpus:
            return [
                Problem(f"Needs {need}; no GPU: training on the CPU.", fatal=False, where="memory")
            ]
        short = [g for g in gpus if g.free_bytes < estimate.total]
        if not short:
            return []
        which = ", ".join(f"GPU {g.index} has {gib(g.free_bytes)} free" for g in short)
        return [
            Problem(
                f"Needs {need}, but {which}. {advice_for_memory(settings.adapter)}",
                fatal=False,
                where="memory",
            )
        ]

    # --- launch and control ------------------------------------------------
    def launch(
        self,
        spec: RunSpec,
        store: RunStore,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunFolder:
        fatal = [p for p in self.prepare(spec) if p.fatal]
        if fatal:
            raise BackendError(" ".join(p.message for p in fatal))
        if cancel is not None and cancel.is_set():
            raise BackendError("Cancelled before the worker started.")
        folder = store.create(spec, status={"detail": "starting the worker"})
        settings = LocalSettings.from_spec(spec)
        used = self.inventory.gpus[: settings.gpus]
        where = ", ".join(f"GPU {g.index} {g.name}" for g in used) or "the CPU"
        what = "DPO" if settings.is_dpo else "fine-tuning"
        folder.log(
            f"Local {settings.adapter} {what} of {spec.model} on {where}, run {folder.run_id}."
        )
        start_worker(folder)
        return folder

    def follow(self, run: RunFolder, *, stop: threading.Event | None = None) -> RunState:
        """Wait until the worker ends the run (or ``stop`` is set); the worker writes everything."""
        while True:
            state = run.effective_status().state
            if state.is_terminal or (stop is not None and stop.wait(0.5)):
                return state
            if stop is None:
                time.sleep(0.5)

    def cancel(self, run: RunFolder) -> None:
        cancel(run)

    def save_now(self, run: RunFolder) -> None:
        save_now(run)

    def pause(self, run: RunFolder) -> None:
        raise NotSupported(
            "Local runs cannot be paused: cancel saves a checkpoint, resume continues it."
        )

    def resume(self, run: RunFolder) -> None:
        """Restart a cancelled or failed run in its folder, from its last checkpoint."""
        status = run.effective_status()
        if status.state is RunState.SUCCEEDED:
            raise BackendError(f"Run {run.run_id} has already succeeded.")
        if not status.state.is_terminal:
            raise BackendError(f"Run {run.run_id} is still running.")
        done = run.recovered_steps()
        if done is not None and done[1] is not None and done[0] >= done[1]:
            raise BackendError(
                f"Run {run.run_id} already trained all {done[1]} planned steps (checkpoint-{done[0]}): "
                "nothing is left to resume. Start a new run for more steps."
            )
        run.update_status(
            state=RunState.QUEUED,
            error=None,
            ended_at=None,
            detail="resuming",
            extra={"resume_requested": True},
        )
        run.log("Resume requested.")
        start_worker(run)

    def result(self, run: RunFolder) -> RunResult:
        status = run.effective_status()
        output = status.extra.get("output")
        return RunResult(
            state=status.state,
            model=str(output) if output else None,
            output_dir=run.output_dir,
            trained_tokens=status.trained_tokens,
            checkpoints=tuple(str(c.get("path")) for c in status.checkpoints if c.get("path")),
            error=status.error,
        )
