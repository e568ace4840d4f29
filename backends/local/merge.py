"""Merging a LoRA / QLoRA run's adapter into its base model: 16-bit safetensors in ``output/merged/``.

``plan_merge(folder)`` says whether a run can be merged (a local LoRA or
QLoRA run that succeeded, or was cancelled with its adapter saved) and
refuses with what and where otherwise; it is cheap (no torch). ``merge_run``
does the heavy part: the base model from ``run.json`` (through
``resolve_model`` / ``loadable_path``, so a GGUF base uses its dequantised
cache), loaded on the CPU in 16-bit, the adapter applied with peft,
``merge_and_unload()``, the result and the tokenizer saved as safetensors.

bf16 or fp16: the base model's own 16-bit dtype when it has one; an fp32
base becomes bf16 where the hardware computes in bf16 (the CPU, recent GPUs),
else fp16. ``MergeResult.reason`` says which and why.

The model is written to ``output/merged.partial-<pid>/`` and renamed to
``output/merged/`` only when complete, so a crash or a cancel never leaves a
half-written merged model; ``force`` replaces an existing one the same way.
Callers that must stay responsive run this in a child process
(``backends.local.merge_process``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends import registry
from backends.backend import BackendError
from backends.local.settings import LocalSettings
from backends.processes import LockHeld, RunLock
from backends.runs import RunFolder
from backends.runs.values import RunSpec, RunState

MERGED_DIR = "merged"
ADAPTER_DIR = "adapter"
_PARTIAL = ".partial-"
Progress = Callable[[str], None]


class MergeRefused(BackendError):
    """This run cannot be merged (or not now); the message says why and what to do."""


@dataclass(frozen=True)
class MergePlan:
    folder: RunFolder
    model: str
    """The base model as ``run.json`` names it (hub id, folder or .gguf)."""
    adapter: str
    """``lora`` or ``qlora``: the adaptation the run trained."""
    adapter_dir: Path
    target: Path
    replaces: bool
    """``target`` exists and ``force`` was given: it will be replaced."""


@dataclass(frozen=True)
class MergeResult:
    path: Path
    dtype: str
    """``bf16`` or ``fp16``."""
    reason: str


def merged_dir(folder: RunFolder) -> Path:
    return folder.output_dir / MERGED_DIR


def adapter_dir(folder: RunFolder) -> Path:
    return folder.output_dir / ADAPTER_DIR


def merge_offered(folder: RunFolder, spec: RunSpec | None, state: RunState) -> bool:
    """Whether a viewer should offer to merge this run (cheap: no status re-read, no torch)."""
    if spec is None or not registry.is_local(spec.backend):
        return False
    if state not in (RunState.SUCCEEDED, RunState.CANCELLED):
        return False
    return (
        bool(LocalSettings.from_spec(spec).uses_adapter)
        and (adapter_dir(folder) / "adapter_config.json").is_file()
    )


def plan_merge(folder: RunFolder, *, force: bool = False) -> MergePlan:
    """What merging ``folder`` would do; raises ``MergeRefused`` when it cannot be merged now."""
    run = folder.run_id
    if not folder.exists():
        raise MergeRefused(f"There is no run folder at {folder.path}.")
    try:
        spec = folder.read_spec()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MergeRefused(f"Cannot read {folder.run_json}: {error}") from None
    if not registry.is_local(spec.backend):
        raise MergeRefused(
            f"Run {run} was trained on {spec.backend}: its model lives with the provider. "
            "Only local LoRA/QLoRA runs have an adapter to merge."
        )
    settings = LocalSettings.from_spec(spec)
    if not settings.uses_adapter:
        raise MergeRefused(
            f"Run {run} trained the whole model (adapter {settings.adapter}): "
            f"{folder.output_dir / 'model'} is already a complete model, there is no adapter to merge."
        )
    state = folder.effective_status().state
    if state.is_active:
        raise MergeRefused(f"Run {run} is still {state.value}: merge it once it has ended.")
    if state not in (RunState.SUCCEEDED, RunState.CANCELLED):
        raise MergeRefused(
            f"Run {run} {state.value}: only a succeeded run (or a cancelled one that saved its "
            "adapter) can be merged.",
            hint=f"`finetune-tui resume {run}` continues it from its last checkpoint.",
        )
    adapter = adapter_dir(folder)
    if not (adapter / "adapter_config.json").is_file():
        raise MergeRefused(
            f"Run {run} has no adapter to merge: {adapter}/adapter_config.json is missing.",
            hint=f"`finetune-tui resume {run}` trains on and saves one.",
        )
    target = merged_dir(folder)
    if target.exists() and not force:
        raise MergeRefused(
            f"Run {run} is already merged: {target} exists.",
            hint=f"`finetune-tui merge {run} --force` replaces it.",
        )
    return MergePlan(folder, spec.model, settings.adapter, adapter, target, target.exists())


def choose_merge_dtype(config_dtype: str | None, *, cuda: bool, bf16_ok: bool) -> tuple[str, str]:
    """``(bf16|fp16, why)`` for the merged model, from the base model's dtype and the hardware."""
    name = (config_dtype or "").replace("torch.", "")
    if name in ("bfloat16", "bf16"):
        if not cuda or bf16_ok:
            return "bf16", "the base model is bfloat16"
        return "fp16", "the base model is bfloat16 but this GPU has no bf16; fp16 instead"
    if name in ("float16", "fp16", "half"):
        return "fp16", "the base model is float16"
    what = f"the base model is {name}" if name else "the base model names no dtype"
    if not cuda:
        return "bf16", f"{what}; on the CPU bf16 keeps fp32's range"
    if bf16_ok:
        return "bf16", f"{what}; this GPU supports bf16"
    return "fp16", f"{what}; this GPU has no bf16"


def _config_dtype(base_path: str) -> str | None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(base_path)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    return str(dtype) if dtype is not None else None


def _hardware() -> tuple[bool, bool]:
    import torch

    cuda = torch.cuda.is_available()
    return cuda, bool(cuda and torch.cuda.is_bf16_supported())


def _tokenizer_source(adapter: Path, base_path: str) -> str:
    """The adapter's tokenizer (trl saves the one it trained with) or else the base model's."""
    if (adapter / "tokenizer_config.json").is_file():
        return str(adapter)
    return base_path


def clear_partials(folder: RunFolder) -> None:
    """Remove ``merged.partial-*`` folders that a killed merge left behind."""
    for stale in folder.output_dir.glob(MERGED_DIR + _PARTIAL + "*"):
        shutil.rmtree(stale, ignore_errors=True)


def merge_into(
    base_path: str, adapter: Path, work: Path, precision: str, *, progress: Progress | None = None
) -> None:
    """Base (16-bit, CPU) + adapter → merged model and tokenizer saved in ``work``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    say = progress or (lambda _text: None)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    say(f"Loading the base model in {precision}…")
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    say("Applying the adapter and merging it into the weights…")
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    say(f"Saving the merged model (safetensors, {precision})…")
    merged.save_pretrained(str(work))
    AutoTokenizer.from_pretrained(_tokenizer_source(adapter, base_path)).save_pretrained(str(work))


def write_merged(
    base_path: str, adapter: Path, target: Path, precision: str, *, progress: Progress | None = None
) -> None:
    """``merge_into`` a ``<target>.partial-<pid>`` folder, then rename it to ``target`` (replaced)."""
    work = target.with_name(f"{target.name}{_PARTIAL}{os.getpid()}")
    try:
        merge_into(base_path, adapter, work, precision, progress=progress)
        if target.exists():
            old = target.with_name(f"{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(work, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def merge_run(plan: MergePlan, *, progress: Progress | None = None) -> MergeResult:
    """Merge ``plan``'s adapter into its base model; the finished folder appears at once."""
    from backends.local.models import loadable_path, resolve_model

    folder = plan.folder
    say = progress or (lambda _text: None)
    lock = RunLock(folder.output_dir / ".merge.lock")
    try:
        lock.acquire(wait=0.5)
    except LockHeld:
        raise MergeRefused(f"Run {folder.run_id} is being merged already.") from None
    try:
        clear_partials(folder)
        say(f"Finding the base model {plan.model}…")
        base_path = loadable_path(resolve_model(plan.model), log=say)
        cuda, bf16_ok = _hardware()
        precision, reason = choose_merge_dtype(_config_dtype(base_path), cuda=cuda, bf16_ok=bf16_ok)
        write_merged(base_path, plan.adapter_dir, plan.target, precision, progress=say)
    finally:
        lock.release()
    record_merged(folder, plan.target, f"{precision}: {reason}")
    return MergeResult(plan.target, precision, reason)


def record_merged(folder: RunFolder, target: Path, note: str) -> None:
    """Add the merged folder to the run's result files and say so in ``log.txt``."""
    status = folder.read_status()
    files = (*(f for f in status.result_files if f != str(target)), str(target))
    folder.update_status(
        result_files=files, extra={"merged": str(target)}, heartbeat_at=status.heartbeat_at
    )
    folder.log(f"Merged the adapter into the base model: {target} ({note}).")
