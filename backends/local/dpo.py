"""Building and running trl's ``DPOTrainer`` for one run folder (``--method dpo``).

The pairs are read and checked (``backends.local.preferences``), tokenised here the way the
Dataset step counts them (``backends.data.preferences.encode_pair``: the model's chat
template, the prompt's last ``max_prompt_length`` tokens, each answer's first
``max_completion_length``), and handed to trl already tokenised, so trl's own tokenising
step is skipped.

The reference model: under LoRA and QLoRA trl computes the reference with the adapter
disabled (the base model: no second copy in memory); starting from an SFT run's adapter it
keeps a frozen copy of that adapter as the reference (a few MB). Under full fine-tuning trl
loads a frozen copy of the starting model, unless ``reference = "precompute"``: then the
reference log-probabilities are computed once before training and no reference stays in memory.

The output layout is the SFT one (``output/adapter`` or ``output/model``), so merge,
Evaluate and Try it read a DPO run as they read an SFT run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from backends.backend import BackendError
from backends.data.chat_template import chatml_training_template
from backends.data.preferences import EncodedPair, encode_pair
from backends.local.callback import ControlFlags, Reporter, make_callback
from backends.local.dataset import split_validation
from backends.local.failures import TrainingDiverged
from backends.local.models import loadable_path, resolve_model
from backends.local.preferences import LoadedPairs, load_preferences
from backends.local.settings import FULL, PRECOMPUTED_REFERENCE, QLORA, LocalSettings
from backends.local.training import (
    Outcome,
    divergence_message,
    finish,
    last_finite,
    load_model,
    peft_config,
    quiet_trainer,
    set_up,
    trainer_arguments,
)
from backends.runs import RunFolder

REFERENCE_ADAPTER = "ref"
"""The name trl gives its frozen copy of a starting adapter."""


def starting_point(from_run: str, settings: LocalSettings) -> tuple[Path, bool]:
    """What a DPO run continues from an SFT run: ``(path, is_adapter)``; ``BackendError`` if none.

    LoRA/QLoRA continue the SFT run's adapter; full fine-tuning starts from its trained model,
    or from its merged folder when it trained an adapter.
    """
    folder = RunFolder(Path(from_run))
    if not folder.exists():
        raise BackendError(f"--from-run: no run folder at {from_run}.")
    output = folder.output_dir
    adapter, model, merged = output / "adapter", output / "model", output / "merged"
    if settings.uses_adapter:
        if (adapter / "adapter_config.json").is_file():
            return adapter, True
        raise BackendError(
            f"--from-run {folder.run_id} has no LoRA adapter in {adapter} to continue "
            f"with {settings.adapter}.",
            hint="Start from a finished LoRA/QLoRA SFT run, or use --adapter full.",
        )
    for candidate in (model, merged):
        if (candidate / "config.json").is_file():
            return candidate, False
    raise BackendError(
        f"--from-run {folder.run_id} has no trained model (output/model) or merged folder "
        "(output/merged) to fine-tune fully.",
        hint=f"Merge it first: finetune-tui merge {folder.run_id}, or use --adapter lora.",
    )


def _template(tokenizer: Any) -> str | None:
    """The tokenizer's own chat template, or ChatML when it has none."""
    own = getattr(tokenizer, "chat_template", None)
    return None if isinstance(own, str) and own else chatml_training_template(None)


def encode_all(
    tokenizer: Any, loaded: LoadedPairs, indices: list[int], settings: LocalSettings
) -> list[EncodedPair]:
    template = _template(tokenizer)
    return [
        encode_pair(
            tokenizer,
            loaded.pairs[i],
            template=template,
            max_prompt_length=settings.max_prompt_length,
            max_completion_length=settings.max_completion_length,
        )
        for i in indices
    ]


def _dataset(rows: list[EncodedPair]) -> Any:
    from datasets import Dataset

    return Dataset.from_list(
        [
            {"prompt_ids": r.prompt_ids, "chosen_ids": r.chosen_ids, "rejected_ids": r.rejected_ids}
            for r in rows
        ]
    )


def _trainer_class() -> Any:
    from trl import DPOTrainer

    class LocalDPOTrainer(DPOTrainer):
        """trl's DPO trainer fed pairs we tokenised (its own tokenising step is skipped)."""

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            if "prompt_ids" in (dataset.column_names or ()):
                return dataset
            return super()._prepare_dataset(dataset, *args, **kwargs)

    return LocalDPOTrainer


def dpo_config(
    settings: LocalSettings, output: Path, precision: str, cuda: bool, has_eval: bool
) -> Any:
    from trl import DPOConfig

    return DPOConfig(
        **trainer_arguments(DPOConfig, settings, output, precision, cuda, has_eval),
        beta=settings.beta,
        loss_type=[settings.loss_type],
        precompute_ref_log_probs=settings.reference == PRECOMPUTED_REFERENCE,
    )


def _policy(
    model_path: str,
    start: tuple[Path, bool] | None,
    settings: LocalSettings,
    precision: str,
    cuda: bool,
) -> tuple[Any, Any]:
    """The model to train and the ``peft_config`` to give trl (``None`` when already wrapped)."""
    if start is None or not start[1]:
        path = str(start[0]) if start is not None else model_path
        return load_model(path, settings, precision, cuda), peft_config(settings)
    from peft import PeftModel

    base = load_model(model_path, settings, precision, cuda)
    return PeftModel.from_pretrained(base, str(start[0]), is_trainable=True), None


def run_dpo_training(
    folder_path: Path,
    reporter: Reporter,
    flags: ControlFlags,
    *,
    resume_from: str | None = None,
) -> Outcome:
    """Train the run in ``folder_path`` with DPO; returns what was produced (raises on failure)."""
    from transformers import AutoTokenizer

    folder = reporter.folder
    setup = set_up(reporter)
    spec, settings, precision, cuda = setup.spec, setup.settings, setup.precision, setup.cuda
    if settings.adapter == QLORA and settings.reference == PRECOMPUTED_REFERENCE:
        reporter.log(
            "QLoRA: the adapter-disabled base is the reference already; precomputing anyway."
        )
    train = load_preferences(spec.dataset)
    valid = load_preferences(spec.validation, split="test") if spec.validation else None
    train_index = list(range(len(train.pairs)))
    valid_index: list[int] = []
    if valid is None and settings.validation_split > 0:
        train_index, valid_index = split_validation(
            train_index, settings.validation_split, settings.seed
        )
    reporter.log(
        f"Data: {len(train_index)} training and "
        f"{len(valid.pairs) if valid else len(valid_index)} validation preference pairs"
        f" ({train.conversational} conversational; {train.identical} with identical answers)."
    )

    reporter.status(detail="loading the model")
    start = starting_point(settings.from_run, settings) if settings.from_run else None
    model_path = loadable_path(resolve_model(spec.model), log=reporter.log)
    tokenizer_path = str(start[0]) if start is not None and not start[1] else model_path
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None) and train.conversational:
        tokenizer.chat_template = chatml_training_template(None)
        reporter.log("The model has no chat template: the pairs are rendered with ChatML.")
    train_rows = encode_all(tokenizer, train, train_index, settings)
    valid_rows = (
        encode_all(tokenizer, valid, list(range(len(valid.pairs))), settings)
        if valid is not None
        else encode_all(tokenizer, train, valid_index, settings)
    )
    lengths = sorted(row.longest for row in train_rows)
    over = sum(1 for n in lengths if n > settings.max_length)
    reporter.log(
        f"Tokens per pair (prompt + the longer answer): median {lengths[len(lengths) // 2]}, "
        f"longest {lengths[-1]}; {over} over max length {settings.max_length} (truncated)."
    )
    if start is not None:
        what = "adapter" if start[1] else "model"
        reporter.log(f"Starting from the SFT run's {what}: {start[0]}.")

    model, peft = _policy(model_path, start, settings, precision, cuda)
    if settings.adapter == FULL and settings.reference != PRECOMPUTED_REFERENCE:
        reporter.log("Reference: a frozen copy of the starting model (full fine-tuning).")
    elif settings.uses_adapter and start is not None and start[1]:
        reporter.log("Reference: a frozen copy of the SFT adapter on the same base model.")
    elif settings.uses_adapter:
        reporter.log("Reference: the base model with the adapter disabled (no second copy).")
    else:
        reporter.log("Reference: log-probabilities computed once before training.")
    args = dpo_config(settings, folder.output_dir, precision, cuda, bool(valid_rows))
    started = time.time()
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=_dataset(train_rows),
        eval_dataset=_dataset(valid_rows) if valid_rows else None,
        processing_class=tokenizer,
        peft_config=peft,
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
    policy = trainer.model
    if REFERENCE_ADAPTER in getattr(policy, "peft_config", {}):
        policy.delete_adapter(REFERENCE_ADAPTER)  # output/adapter holds the trained adapter only
    del model
    return finish(trainer, settings, reporter, flags, model_path, precision, cuda)
