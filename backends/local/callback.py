"""Keeping the run folder current from inside trl's training loop.

``Reporter`` is the worker's one writer of ``status.json`` (a lock makes the
heartbeat thread and the training loop take turns). ``ControlFlags`` carries
what the signal handlers asked for. ``RunFolderCallback`` is the
``TrainerCallback``: one ``MetricPoint`` per logging step (and per
evaluation) into ``metrics.jsonl``, and the flags turned into Trainer
control — save a checkpoint now, or save and stop. In a multi-process run
the flags are all-reduced every step, so every process saves and stops at
the same step (rank 0 gets the signals: its pid is in ``status.json``).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

from backends.runs import RunFolder, RunStatus
from backends.runs.values import MetricPoint


class Reporter:
    """Thread-safe writes of ``status.json`` and ``log.txt`` for the worker (rank 0 only)."""

    def __init__(self, folder: RunFolder, *, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._lock = threading.Lock()

    def status(self, **changes: Any) -> RunStatus | None:
        if not self.enabled:
            return None
        with self._lock:
            return self.folder.update_status(**changes)

    def heartbeat(self) -> None:
        self.status()

    def log(self, message: str) -> None:
        if self.enabled:
            self.folder.log(message)

    def metric(self, point: MetricPoint) -> None:
        if self.enabled:
            self.folder.append_metric(point)


class ControlFlags:
    """Set by signal handlers, read by the callback between steps."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.save_now = threading.Event()
        self.in_training = threading.Event()
        """Set once the training loop runs: from then on a cancel saves before it stops."""
        self.cancel_reason = ""
        self.diverged: str | None = None
        """Why training was stopped as diverged (a non-finite loss, gradient or weight), if it was."""
        self.diverged_step: int | None = None


def is_finite_number(value: Any) -> bool:
    """``False`` for NaN and ±inf (a value that is not a number counts as finite: nothing to judge)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def weights_finite(model: Any) -> bool:
    """Every trainable parameter of ``model`` is finite (the adapter's only, for LoRA: cheap)."""
    import torch

    if model is None:
        return True
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad and not bool(torch.isfinite(parameter).all()):
                return False
    return True


def health_problem(logs: dict[str, Any]) -> str | None:
    """What in one logged step shows the training diverged, or ``None``."""
    for key, label in (("loss", "training loss"), ("grad_norm", "gradient norm")):
        if key in logs and logs[key] is not None and not is_finite_number(logs[key]):
            return f"the {label} became {logs[key]}"
    return None


def _sync_flags(cancel: bool, save: bool, device: Any) -> tuple[bool, bool]:
    """The flags OR-ed over every process of a distributed run (unchanged when single)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return cancel, save
    flags = torch.tensor([int(cancel), int(save)], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0].item()), bool(flags[1].item())


def make_callback(reporter: Reporter, flags: ControlFlags, *, started: float) -> Any:
    """A ``transformers.TrainerCallback`` bound to this run (built lazily: transformers is heavy)."""
    from transformers import TrainerCallback

    class RunFolderCallback(TrainerCallback):
        def __init__(self) -> None:
            self.last_tokens: float | None = None
            self.last_time: float | None = None
            self.saving_on_request = False
            self.stopping = False

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            flags.in_training.set()
            reporter.status(total_steps=state.max_steps, detail="training")
            reporter.log(
                f"Training: {state.max_steps} steps, starting at step {state.global_step}."
            )
            self.last_tokens, self.last_time = 0.0, time.time()

        def _diverge(self, state: Any, control: Any, why: str) -> None:
            """Stop now, saving nothing: the weights are not finite, or will not be."""
            control.should_save = False
            control.should_evaluate = False
            control.should_training_stop = True
            if flags.diverged is None:
                flags.diverged = why
                flags.diverged_step = int(state.global_step)
                reporter.log(
                    f"Training diverged at step {state.global_step}: {why}. Stopping without "
                    "saving this state."
                )

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if flags.diverged is not None:
                self._diverge(state, control, flags.diverged)
                return
            if control.should_save and not weights_finite(kwargs.get("model")):
                self._diverge(state, control, "the weights are no longer finite numbers (NaN/inf)")
                return
            cancel, save = _sync_flags(flags.cancel.is_set(), flags.save_now.is_set(), args.device)
            if save:
                flags.save_now.clear()
                self.saving_on_request = True
                control.should_save = True
            if cancel and not self.stopping:
                flags.cancel.set()
                self.stopping = True
                control.should_save = True
                control.should_training_stop = True
                reporter.log(
                    f"Cancel requested{flags.cancel_reason}: saving a checkpoint at step "
                    f"{state.global_step} and stopping."
                )

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
        ) -> None:
            if not logs:
                return
            problem = health_problem(logs)
            if problem is None and logs.get("loss") == 0 and not weights_finite(kw.get("model")):
                problem = "the training loss collapsed to 0 and the weights are no longer finite"
            if problem is not None:
                self._diverge(state, control, problem)
            if not state.is_world_process_zero:
                return
            if "loss" not in logs and "eval_loss" not in logs:
                if "train_runtime" in logs:  # the end-of-training summary, in one line
                    reporter.log(summary_line(logs))
                return
            now = time.time()
            tokens_per_s = None
            seen = logs.get("num_tokens")
            if isinstance(seen, (int, float)) and "loss" in logs:
                if (
                    self.last_tokens is not None
                    and self.last_time is not None
                    and now > self.last_time
                ):
                    tokens_per_s = (seen - self.last_tokens) / (now - self.last_time)
                self.last_tokens, self.last_time = float(seen), now
            point = MetricPoint(
                step=int(state.global_step),
                train_loss=logs.get("loss"),
                valid_loss=logs.get("eval_loss"),
                train_mean_token_accuracy=logs.get("mean_token_accuracy"),
                valid_mean_token_accuracy=logs.get("eval_mean_token_accuracy"),
                learning_rate=logs.get("learning_rate"),
                grad_norm=logs.get("grad_norm"),
                tokens_per_s=tokens_per_s,
                epoch=logs.get("epoch", state.epoch),
                total_steps=int(state.max_steps),
                elapsed=now - started,
                time=now,
            )
            for name, value in dpo_series(logs).items():
                setattr(point, name, value)
            reporter.metric(point)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not state.is_world_process_zero:
                return
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            status = reporter.folder.read_status()
            kept = [c for c in status.checkpoints if Path(str(c.get("path", ""))).exists()]
            kept.append({"step": int(state.global_step), "path": str(path), "time": time.time()})
            reporter.status(checkpoints=tuple(kept))
            if self.saving_on_request:
                self.saving_on_request = False
                reporter.log(
                    f"Saved a checkpoint on request at step {state.global_step}: {path} "
                    "(training goes on)."
                )
            else:
                reporter.log(f"Checkpoint at step {state.global_step}: {path}")

    return RunFolderCallback()


DPO_SERIES = ("margins", "accuracies", "chosen", "rejected")
"""trl's ``rewards/<name>`` (train) and ``eval_rewards/<name>`` logs, kept in ``metrics.jsonl``."""


def dpo_series(logs: dict[str, Any]) -> dict[str, float]:
    """The DPO reward values of one trl log, as ``MetricPoint`` fields (none for SFT logs)."""
    out: dict[str, float] = {}
    for name in DPO_SERIES:
        for prefix, split in (("", "train"), ("eval_", "valid")):
            value = logs.get(f"{prefix}rewards/{name}")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{split}_rewards_{name}"] = float(value)
    return out


def summary_line(logs: dict[str, Any]) -> str:
    """trl's end-of-training dict as a sentence (what ``PrinterCallback`` would have printed)."""

    def number(key: str) -> float | None:
        value = logs.get(key)
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    parts = []
    runtime = number("train_runtime")
    if runtime is not None:
        parts.append(f"{runtime:.3f} s")
    for key, label in (
        ("train_steps_per_second", "steps/s"),
        ("train_samples_per_second", "examples/s"),
    ):
        value = number(key)
        if value is not None:
            parts.append(f"{value:.3g} {label}")
    loss = number("train_loss")
    if loss is not None:
        parts.append(f"mean training loss {loss:.4f}")
    return "Training loop done: " + ", ".join(parts) + "."
