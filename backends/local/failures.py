"""Why a local run failed, in words a person can act on.

``explain(error, settings)`` turns an exception from the worker into one
message with the advice that fits: out-of-memory → smaller batch, shorter
max length, QLoRA, gradient checkpointing; no CUDA → what was asked for and
what to do; bad rows → which lines. ``STOPPED_ADVICE`` is what a viewer shows
when the worker vanished without a word (killed, or the kernel's OOM killer).
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.backend import BackendError
from backends.files import disk_problem, is_disk_full
from backends.local.settings import QLORA, LocalSettings

STOPPED_ADVICE = (
    "If nothing stopped it on purpose, the machine may have run out of memory (`dmesg | grep -i "
    "oom`): try a smaller batch size or a shorter max length. `finetune-tui resume RUN` "
    "continues from the last checkpoint."
)

_OOM_MARKERS = (
    "out of memory",
    "outofmemoryerror",
    "can't allocate memory",
    "cannot allocate memory",
    "defaultcpuallocator",
    "cublas_status_alloc_failed",
)
_NO_CUDA_MARKERS = (
    "torch not compiled with cuda",
    "no cuda gpus are available",
    "found no nvidia driver",
    "cuda driver version is insufficient",
    "cuda is not available",
    "cuda error: no kernel image",
    "bitsandbytes",
)


class TrainingDiverged(BackendError):
    """The loss, the gradients or the weights stopped being finite numbers."""


@dataclass(frozen=True)
class Failure:
    kind: str
    """``oom``, ``cuda``, ``data``, ``model``, ``config``, ``diverged``, ``disk`` or ``crash``."""
    message: str

    def __str__(self) -> str:
        return self.message


def oom_advice(settings: LocalSettings) -> str:
    steps = []
    if settings.batch_size > 1:
        steps.append(
            f"batch size {max(1, settings.batch_size // 2)} with grad accumulation "
            f"{settings.grad_accum * 2} (same effective batch)"
        )
    steps.append(f"a shorter max length (now {settings.max_length})")
    if settings.adapter != QLORA:
        steps.append("the QLoRA adapter (4-bit base model, CUDA only)")
    if not settings.gradient_checkpointing:
        steps.append("gradient checkpointing on")
    return "Try " + ", or ".join(steps) + ". `finetune-tui estimate` shows what fits."


def explain(error: BaseException, settings: LocalSettings) -> Failure:
    """The failure a person reads in ``status.json`` / ``log.txt``."""
    if isinstance(error, BackendError):
        from backends.local.dataset import DatasetRejected
        from backends.local.models import ModelUnavailable

        kind = "data" if isinstance(error, DatasetRejected) else "config"
        kind = "model" if isinstance(error, ModelUnavailable) else kind
        kind = "diverged" if isinstance(error, TrainingDiverged) else kind
        return Failure(kind, str(error))
    if is_disk_full(error):
        assert isinstance(error, OSError)
        return Failure(
            "disk",
            f"{disk_problem(error)} Free space on that disk (checkpoints in output/checkpoints "
            "take the most), then `finetune-tui resume RUN` continues from the last checkpoint.",
        )
    text = f"{type(error).__name__}: {error}"
    lowered = text.lower()
    if isinstance(error, MemoryError) or any(m in lowered for m in _OOM_MARKERS):
        where = "GPU" if "cuda" in lowered or "gpu" in lowered else "memory"
        return Failure(
            "oom",
            f"Out of {where}: the model, its training state and the activations of one batch "
            f"do not fit ({_first_line(text)}). {oom_advice(settings)}",
        )
    if any(m in lowered for m in _NO_CUDA_MARKERS):
        advice = (
            "QLoRA needs an NVIDIA GPU with CUDA and the bitsandbytes package: on this machine "
            "choose the LoRA adapter."
            if settings.adapter == QLORA
            else "Check `nvidia-smi` and that torch was installed with CUDA "
            "(`python -c 'import torch; print(torch.cuda.is_available())'`)."
        )
        return Failure("cuda", f"CUDA is not usable here ({_first_line(text)}). {advice}")
    return Failure(
        "crash", f"Training stopped with an error: {_first_line(text, 400)}. See log.txt."
    )


def _first_line(text: str, limit: int = 240) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"
