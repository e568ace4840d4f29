"""Building and running trl's ``SFTTrainer`` for one run folder.

``run_training`` reads ``run.json``, loads and tokenises the data (assistant
tokens only, with the model's chat template), loads the model for the adapter
(LoRA on a 16-bit base, QLoRA on a 4-bit base, full in fp32 with mixed
precision), trains with the run-folder callback and the longest-first
sampler, and saves the adapter (or the model) to ``output/``. It raises on
failure; the worker turns exceptions into a ``failed`` status.

Output layout:

    output/checkpoints/checkpoint-N/   Trainer checkpoints (resume from the last)
    output/adapter/                    the LoRA adapter + tokenizer (lora, qlora)
    output/model/                      the trained model + tokenizer (full)
    output/merged/                     base + adapter merged, 16-bit (``merge``)
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.backend import BackendError
from backends.data.chat_template import renders_tools, training_template, uses_tools
from backends.local.callback import ControlFlags, Reporter, make_callback
from backends.local.dataset import DatasetRejected, load_conversations, split_validation
from backends.local.failures import TrainingDiverged
from backends.local.models import loadable_path, resolve_model
from backends.local.settings import DEFAULT_LR, FULL, QLORA, LocalSettings
from backends.runs.values import RunSpec


def divergence_message(
    why: str, step: int | None, settings: LocalSettings, precision: str, kept: Path | None
) -> str:
    """What happened, what to try, and what was kept, in a few sentences."""
    lower = f"{min(settings.lr / 10, DEFAULT_LR.get(settings.adapter, 2e-4)):g}"
    advice = f"The learning rate ({settings.lr:g}) is probably too high: try --lr {lower}"
    if precision == "fp16":
        advice += ", and --precision bf16 (or fp32): fp16 overflows easily"
    parts = [
        f"Training diverged at step {step}: {why}.",
        advice + ".",
        "No adapter or model was saved from the diverged weights.",
    ]
    if kept is not None:
        parts.append(f"The last finite checkpoint is kept: {kept}.")
    return " ".join(parts)


def last_finite(folder: Any) -> Path | None:
    """The newest checkpoint in ``output/checkpoints`` (each was checked finite before it was saved)."""
    found = []
    for path in (folder.output_dir / "checkpoints").glob("checkpoint-*"):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return max(found)[1] if found else None


def non_finite_tensors(folder: Path) -> list[str]:
    """The tensors of the ``*.safetensors`` files in ``folder`` that hold NaN or inf."""
    import torch
    from safetensors import safe_open

    bad: list[str] = []
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as tensors:
            for name in tensors.keys():  # noqa: SIM118 (safe_open is not a mapping)
                tensor = tensors.get_tensor(name)
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    bad.append(f"{file.name}:{name}")
    return bad


def save_checked(trainer: Any, final: Path) -> None:
    """Save to a side folder, check every tensor is finite, then make it ``final``."""
    import shutil

    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))
    if not trainer.args.should_save:  # another process of a distributed run: rank 0 saves
        return
    bad = non_finite_tensors(staging)
    if bad:
        shutil.rmtree(staging, ignore_errors=True)
        raise TrainingDiverged(
            f"The trained weights hold NaN or inf ({len(bad)} tensor(s), e.g. {bad[0]}): "
            "nothing was saved as the result. Try a lower learning rate (--lr), or "
            "--precision bf16 / fp32."
        )
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


@dataclass
class Outcome:
    cancelled: bool
    output: Path | None
    steps: int
    trained_tokens: int | None = None
    merged: Path | None = None


def choose_precision(requested: str, cuda: bool, bf16_ok: bool) -> str:
    """``bf16`` where supported, else ``fp16`` on CUDA, else ``fp32`` (an explicit choice wins)."""
    if requested != "auto":
        return requested
    if cuda:
        return "bf16" if bf16_ok else "fp16"
    return "fp32"


def qlora_refusal(cuda: bool) -> str | None:
    """Why QLoRA cannot run here, or ``None`` when it can."""
    if not cuda:
        return (
            "QLoRA needs an NVIDIA GPU with CUDA (bitsandbytes 4-bit); none is usable here. "
            "Choose the LoRA adapter instead (a 16-bit base model: more memory, same adapter)."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return "QLoRA needs the bitsandbytes package: pip install bitsandbytes (or choose the LoRA adapter)."
    return None


def tokenise(
    tokenizer: Any, records: list[dict[str, Any]], lines: list[int], assistant_only: bool
) -> list[dict[str, list[int]]]:
    """``input_ids`` (+ ``assistant_masks``) per record, through the chat template."""
    import orjson

    rows: list[dict[str, list[int]]] = []
    empty: list[int] = []
    for record, line in zip(records, lines, strict=True):
        tools = record.get("tools")
        encoded = tokenizer.apply_chat_template(
            record["messages"],
            tools=orjson.loads(tools) if isinstance(tools, str) else tools,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=assistant_only,
        )
        row = {"input_ids": list(encoded["input_ids"])}
        if assistant_only:
            row["assistant_masks"] = list(encoded["assistant_masks"])
            if 1 not in row["assistant_masks"]:
                empty.append(line)
        rows.append(row)
    if empty:
        shown = ", ".join(map(str, empty[:10]))
        raise DatasetRejected(
            f"{len(empty)} example(s) have no assistant tokens after the chat template (lines {shown})."
        )
    return rows


def _dataset(rows: list[dict[str, list[int]]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list(rows)


def _trainer_class() -> Any:
    from trl import SFTTrainer

    from backends.local.sampler import LongestFirstSampler

    class LocalSFTTrainer(SFTTrainer):
        """trl's trainer with the longest effective batch first (unless packing)."""

        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            if self.args.packing or dataset is None or "input_ids" not in dataset.column_names:
                return super()._get_train_sampler(train_dataset)
            lengths = [len(ids) for ids in dataset["input_ids"]]
            block = (
                self.args.per_device_train_batch_size
                * self.args.gradient_accumulation_steps
                * max(1, self.args.world_size)
            )
            return LongestFirstSampler(lengths, block, self.args.seed)

    return LocalSFTTrainer


def load_model(path: str, settings: LocalSettings, precision: str, cuda: bool) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    half = torch.bfloat16 if precision == "bf16" else torch.float16
    kwargs: dict[str, Any] = {}
    if settings.adapter == FULL or precision == "fp32":
        kwargs["dtype"] = torch.float32  # fp32 master weights; autocast does the 16-bit math
    else:
        kwargs["dtype"] = half
    if settings.adapter == QLORA:
        from accelerate import PartialState
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=half,
        )
        kwargs["device_map"] = {"": PartialState().local_process_index}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if settings.adapter == QLORA:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=settings.gradient_checkpointing
        )
    return model


def peft_config(settings: LocalSettings) -> Any:
    if not settings.uses_adapter:
        return None
    from peft import LoraConfig

    targets: Any = list(settings.target_modules)
    if targets == ["all-linear"]:
        targets = "all-linear"
    return LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def trainer_arguments(
    config_class: Any,
    settings: LocalSettings,
    output: Path,
    precision: str,
    cuda: bool,
    has_eval: bool,
) -> dict[str, Any]:
    """What every trainer of ours is given, SFT or DPO: steps, batches, schedule, checkpoints,
    evaluation, precision; a NaN loss reported as NaN (the divergence check must see it)."""
    eval_strategy = "no"
    if has_eval:
        eval_strategy = "steps" if settings.eval_steps else "epoch"
    return {
        "output_dir": str(output / "checkpoints"),
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "per_device_train_batch_size": settings.batch_size,
        "per_device_eval_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "learning_rate": settings.lr,
        "lr_scheduler_type": settings.lr_scheduler,
        "warmup_steps": settings.warmup_ratio,
        "logging_steps": settings.logging_steps,
        "save_strategy": "steps",
        "save_steps": settings.save_steps,
        "save_total_limit": settings.save_total_limit,
        "eval_strategy": eval_strategy,
        "eval_steps": settings.eval_steps,
        "seed": settings.seed,
        "data_seed": settings.seed,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": not cuda,
        **checkpointing_argument(config_class, settings.gradient_checkpointing),
        "max_length": settings.max_length,
        "report_to": "none",
        "logging_nan_inf_filter": False,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }


def _sft_config(
    settings: LocalSettings, output: Path, precision: str, cuda: bool, has_eval: bool
) -> Any:
    from trl import SFTConfig

    return SFTConfig(
        **trainer_arguments(SFTConfig, settings, output, precision, cuda, has_eval),
        packing=settings.packing,
        assistant_only_loss=False,  # the data arrives tokenised with its assistant masks
    )


def checkpointing_argument(config_class: Any, enabled: bool) -> dict[str, bool]:
    """Gradient checkpointing under the name this transformers uses (``activation_`` since 5.x)."""
    fields = getattr(config_class, "__dataclass_fields__", {})
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in fields
        else "gradient_checkpointing"
    )
    return {name: enabled}


def quiet_progress_bars() -> None:
    """No tqdm bars in ``log.txt`` (datasets' map, transformers' shard writing, the hub's downloads)."""
    import datasets
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    disable_progress_bars()
    datasets.disable_progress_bars()


def quiet_trainer(trainer: Any) -> None:
    """Drop the per-step ``{'loss': ...}`` prints: every value is in ``metrics.jsonl`` already."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _without_tools(
    records: list[dict[str, Any]], lines: list[int], model: str, label: str, reporter: Reporter
) -> tuple[list[dict[str, Any]], list[int]]:
    """Drop the examples whose tools the template cannot render (the report warned of each)."""
    kept = [(r, n) for r, n in zip(records, lines, strict=True) if not uses_tools(r)]
    skipped = [n for r, n in zip(records, lines, strict=True) if uses_tools(r)]
    if skipped:
        shown = ", ".join(map(str, skipped[:10])) + ("…" if len(skipped) > 10 else "")
        reporter.log(
            f"Skipped {len(skipped)} {label} example(s) with tools (lines {shown}): "
            f"{model}'s chat template cannot render tool calls."
        )
    return [r for r, _ in kept], [n for _, n in kept]


@dataclass
class RunSetup:
    """What both trainers start from: the spec, its settings, and where and how it computes."""

    spec: RunSpec
    settings: LocalSettings
    precision: str
    cuda: bool


def set_up(reporter: Reporter) -> RunSetup:
    """Read and check the run's settings, pick the precision, say where it trains."""
    import torch

    quiet_progress_bars()
    spec = reporter.folder.read_spec()
    settings = LocalSettings.from_spec(spec)
    problems = [p.message for p in settings.problems() if p.fatal]
    if problems:
        raise BackendError("Bad settings: " + " ".join(problems))
    cuda = torch.cuda.is_available()
    if settings.adapter == QLORA:
        refusal = qlora_refusal(cuda)
        if refusal:
            raise BackendError(refusal)
    precision = choose_precision(settings.precision, cuda, cuda and torch.cuda.is_bf16_supported())
    device = torch.cuda.get_device_name(0) if cuda else "CPU"
    reporter.status(detail="reading the data", extra={"precision": precision, "device": device})
    reporter.log(
        f"Device: {device}; precision {precision}; adapter {settings.adapter}; "
        f"objective {settings.objective}."
    )
    return RunSetup(spec, settings, precision, cuda)


def run_training(
    folder_path: Path,
    reporter: Reporter,
    flags: ControlFlags,
    *,
    resume_from: str | None = None,
) -> Outcome:
    """Train the run in ``folder_path`` with SFT; returns what was produced (raises on failure)."""
    from transformers import AutoTokenizer

    folder = reporter.folder
    setup = set_up(reporter)
    spec, settings, precision, cuda = setup.spec, setup.settings, setup.precision, setup.cuda

    train = load_conversations(spec.dataset)
    valid_records: list[dict[str, Any]] = []
    valid_lines: list[int] = []
    if spec.validation:
        valid = load_conversations(spec.validation)
        valid_records, valid_lines = valid.records, valid.lines
    train_records, train_lines = train.records, train.lines
    if not valid_records and settings.validation_split > 0:
        pairs = list(zip(train_records, train_lines, strict=True))
        kept, held = split_validation(pairs, settings.validation_split, settings.seed)
        train_records, train_lines = [r for r, _ in kept], [n for _, n in kept]
        valid_records, valid_lines = [r for r, _ in held], [n for _, n in held]
    reporter.log(
        f"Data: {len(train_records)} training and {len(valid_records)} validation examples "
        f"({', '.join(f'{n} {k}' for k, n in train.formats.items())}; {train.with_tools} with tools)."
    )

    reporter.status(detail="loading the model")
    model_path = loadable_path(resolve_model(spec.model), log=reporter.log)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    choice = training_template(tokenizer, train_records)
    if choice.template is not None:
        tokenizer.chat_template = choice.template
    reporter.log(choice.note)
    if not renders_tools(tokenizer):
        train_records, train_lines = _without_tools(
            train_records, train_lines, spec.model, "training", reporter
        )
        valid_records, valid_lines = _without_tools(
            valid_records, valid_lines, spec.model, "validation", reporter
        )
        if not train_records:
            raise DatasetRejected(
                f"Every training example uses tools, and {spec.model}'s chat template cannot "
                "render tool calls: pick a model whose template supports tools "
                "(Qwen2.5, Llama 3.1, Mistral…)."
            )
    assistant_only = settings.assistant_only_loss and choice.assistant_only
    train_rows = tokenise(tokenizer, train_records, train_lines, assistant_only)
    valid_rows = tokenise(tokenizer, valid_records, valid_lines, assistant_only)
    lengths = sorted(len(r["input_ids"]) for r in train_rows)
    over = sum(1 for n in lengths if n > settings.max_length)
    reporter.log(
        f"Tokens per example: median {lengths[len(lengths) // 2]}, longest {lengths[-1]}; "
        f"{over} over max length {settings.max_length} (truncated)."
    )

    model = load_model(model_path, settings, precision, cuda)
    args = _sft_config(settings, folder.output_dir, precision, cuda, bool(valid_rows))
    started = time.time()
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=_dataset(train_rows),
        eval_dataset=_dataset(valid_rows) if valid_rows else None,
        processing_class=tokenizer,
        peft_config=peft_config(settings),
        callbacks=[make_callback(reporter, flags, started=started)],
    )
    quiet_trainer(trainer)
    if resume_from:
        reporter.log(f"Resuming from {resume_from}.")
    reporter.status(detail="training")
    trainer.train(resume_from_checkpoint=resume_from)
    if flags.diverged is not None:
        raise TrainingDiverged(
            divergence_message(
                flags.diverged, flags.diverged_step, settings, precision, last_finite(folder)
            )
        )

    del model
    return finish(trainer, settings, reporter, flags, model_path, precision, cuda)


def finish(
    trainer: Any,
    settings: LocalSettings,
    reporter: Reporter,
    flags: ControlFlags,
    model_path: str,
    precision: str,
    cuda: bool,
) -> Outcome:
    """Save the adapter (or model) to ``output/``, merge when asked; what the run produced."""
    import torch

    folder = reporter.folder
    final = folder.output_dir / ("adapter" if settings.uses_adapter else "model")
    save_checked(trainer, final)
    steps = int(trainer.state.global_step)
    tokens = getattr(trainer, "_total_train_tokens", None)
    cancelled = flags.cancel.is_set() and steps < int(trainer.state.max_steps)
    reporter.log(f"Saved the {'adapter' if settings.uses_adapter else 'model'} to {final}.")
    merged = None
    if settings.merge and settings.uses_adapter and not cancelled:
        del trainer
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        from backends.local.merge import merged_dir, write_merged

        merged = merged_dir(folder)
        write_merged(model_path, final, merged, "fp16" if precision == "fp16" else "bf16")
        reporter.log(f"Merged the adapter into the base model: {merged}.")
    return Outcome(cancelled, final, steps, int(tokens) if tokens else None, merged)
