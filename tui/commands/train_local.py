"""Local training from the shell: ``train --backend local``, ``estimate``, ``cancel``, ``resume``, ``save``.

``train`` itself is registered by ``tui.commands.train_hosted`` (one parser
for every backend); ``add_local_arguments`` adds the local options to it and
``run_train_local`` handles ``--backend local``: check, print the memory
estimate, start the detached worker, print the run id, and without
``--detach`` follow the run folder until the run ends (Ctrl-C stops only the
following: the worker runs in its own session).

Exit status: 0 succeeded (or detached), 1 failed or cancelled, 2 usage or
configuration (including a model or data that cannot be used).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui.commands.run_cli import (
    add_objective_and_adapter,
    find_run,
    objective_and_adapter,
    print_until_done,
    refuse_or_go,
    report_problems,
    start_run,
    store_of,
)
from tui.commands.run_cli import err as _err

_NUMBER_FLAGS = {
    "max_steps": int,
    "learning_rate": float,
    "grad_accum": int,
    "max_length": int,
    "lora_r": int,
    "lora_alpha": int,
    "lora_dropout": float,
    "eval_steps": int,
    "save_steps": int,
    "validation_split": float,
    "gpus": int,
    "max_prompt_length": int,
    "max_completion_length": int,
}


LOCAL_ONLY_FLAGS = {
    "max_steps": "--max-steps",
    "learning_rate": "--lr",
    "grad_accum": "--grad-accum",
    "max_length": "--max-length",
    "lora_r": "--lora-r",
    "lora_alpha": "--lora-alpha",
    "lora_dropout": "--lora-dropout",
    "target_modules": "--target-modules",
    "packing": "--packing",
    "gradient_checkpointing": "--no-gradient-checkpointing",
    "assistant_only_loss": "--full-loss",
    "eval_steps": "--eval-steps",
    "save_steps": "--save-steps",
    "validation_split": "--validation-split",
    "precision": "--precision",
    "gpus": "--gpus",
    "accelerate_config": "--accelerate-config",
    "merge": "--merge",
    "config": "--config",
}
"""Flags of ``train`` that only local training takes (their default is ``None``: not given)."""


RESUME_BACKLOG = 10
"""Log lines of a resumed run's history printed before following it (the rest is in log.txt)."""


def add_local_arguments(train: argparse.ArgumentParser) -> None:
    group = train.add_argument_group("local training (--backend local)")
    group.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    group.add_argument("--lr", dest="learning_rate", type=float, help="learning rate")
    group.add_argument("--grad-accum", type=int, help="gradient accumulation steps")
    group.add_argument("--max-length", type=int, help="longest sequence in tokens")
    group.add_argument("--lora-r", type=int)
    group.add_argument("--lora-alpha", type=int)
    group.add_argument("--lora-dropout", type=float)
    group.add_argument("--target-modules", help="comma-separated, or all-linear (default)")
    group.add_argument("--packing", action="store_true", default=None)
    group.add_argument(
        "--no-gradient-checkpointing",
        dest="gradient_checkpointing",
        action="store_false",
        default=None,
    )
    group.add_argument(
        "--full-loss",
        dest="assistant_only_loss",
        action="store_false",
        default=None,
        help="train on every token, not only the assistant's",
    )
    group.add_argument("--eval-steps", type=int, help="evaluate every N steps (default: per epoch)")
    group.add_argument("--save-steps", type=int, help="checkpoint every N steps")
    group.add_argument("--validation-split", type=float, help="hold out this fraction")
    group.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"))
    group.add_argument("--gpus", type=int, help="GPUs to use; more than 1 runs accelerate launch")
    group.add_argument(
        "--accelerate-config", metavar="FILE", help="accelerate YAML or DeepSpeed JSON config"
    )
    group.add_argument(
        "--merge", action="store_true", default=None, help="also save a merged model"
    )
    group.add_argument(
        "--config", metavar="FILE", help="run.json of an earlier run, or a TOML file"
    )
    add_dpo_arguments(train)


def add_dpo_arguments(train: argparse.ArgumentParser) -> None:
    from backends.local.settings import LOSS_TYPES, REFERENCES

    group = train.add_argument_group("local DPO (--backend local --method dpo)")
    # --beta is the train command's (hosted DPO has it too): a number, or auto for 0.1
    group.add_argument("--loss-type", choices=LOSS_TYPES, help="DPO loss (sigmoid)")
    group.add_argument(
        "--max-prompt-length", type=int, help="keep the last N tokens of a longer prompt"
    )
    group.add_argument(
        "--max-completion-length", type=int, help="keep the first N tokens of a longer answer"
    )
    group.add_argument(
        "--reference",
        choices=REFERENCES,
        help="auto: the adapter-disabled base under LoRA, a frozen copy under full; "
        "precompute: reference log-probabilities computed once, none kept in memory",
    )
    group.add_argument(
        "--from-run",
        metavar="RUN",
        help="start from this finished SFT run's adapter (or model): SFT, then DPO",
    )


def register(subparsers: Any) -> None:
    estimate = subparsers.add_parser(
        "estimate", help="GPU memory a local run needs, next to the visible GPUs"
    )
    estimate.add_argument("--model", help="hub id, model folder or .gguf (default: SmolLM2-135M)")
    add_objective_and_adapter(estimate, local_only=True)
    estimate.add_argument("--batch-size", type=int, default=1)
    estimate.add_argument("--max-length", type=int, default=1024)
    estimate.add_argument("--lora-r", type=int, default=16)
    estimate.add_argument("--gpus", type=int, default=1)
    estimate.add_argument(
        "--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false"
    )
    estimate.set_defaults(handler=run_estimate)
    for name, what, handler in (
        ("cancel", "stop a run (local: saves a checkpoint first)", run_cancel),
        ("resume", "continue a cancelled or failed local run from its last checkpoint", run_resume),
        ("save", "save a checkpoint of a running local run now", run_save),
    ):
        parser = subparsers.add_parser(name, help=what)
        parser.add_argument("run", metavar="RUN", help="run id, unique prefix or folder")
        if name == "resume":
            parser.add_argument("--detach", action="store_true", help="do not follow the run")
        parser.set_defaults(handler=handler)


def _number(name: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    kind = float if name in ("epochs", "beta") else _NUMBER_FLAGS.get(name, int)
    try:
        return kind(value)
    except (TypeError, ValueError):
        what = "a number" if kind is float else "a whole number"
        raise ValueError(
            f"--{name.replace('_', '-')} must be {what} or auto, not {value!r}"
        ) from None


def settings_from_args(args: argparse.Namespace, base: dict[str, Any]) -> Any:
    from backends.local.settings import LocalSettings

    settings = LocalSettings.from_mapping(base)
    changes: dict[str, Any] = {
        "adapter": args.adapter,
        "objective": getattr(args, "method", None),
        "epochs": _number("epochs", args.epochs),
        "batch_size": _number("batch_size", args.batch_size),
        "beta": _number("beta", getattr(args, "beta", None)),
        "seed": args.seed,
    }
    for name in (*_NUMBER_FLAGS, "packing", "gradient_checkpointing", "assistant_only_loss"):
        changes[name] = getattr(args, name, None)
    for name in ("precision", "accelerate_config", "merge", "loss_type", "reference"):
        changes[name] = getattr(args, name, None)
    if args.target_modules:
        changes["target_modules"] = tuple(
            part.strip() for part in args.target_modules.split(",") if part.strip()
        )
    return settings.updated(**changes)


def run_train_local(args: argparse.Namespace) -> int:
    from backends.catalog import DEFAULT_LOCAL_MODEL
    from backends.files import sha256_of
    from backends.local.backend import LocalBackend
    from backends.local.memory import render_estimate
    from backends.local.settings import RunConfig, read_run_config

    store = store_of(args)  # a workspace that cannot hold runs is said before anything else
    config = RunConfig()
    if args.config:
        try:
            config = read_run_config(Path(args.config))
        except (OSError, ValueError) as error:
            _err(f"Cannot read {args.config}: {error}")
            return 2
    try:
        settings = settings_from_args(args, dict(config.settings))
    except (TypeError, ValueError) as error:
        _err(f"Bad setting: {error}")
        return 2
    bad = [p for p in settings.problems() if p.fatal]
    if bad:  # said at once, like a flag argparse refuses: not after the data check's seconds
        report_problems(bad)
        return 2
    model = args.model or config.model
    if getattr(args, "from_run", None):
        start = _sft_run(args, model)
        if start is None:
            return 2
        model = model or start.read_spec().model
        settings = settings.updated(from_run=str(start.path))
    data = args.data or config.data
    if not data:
        _err("--data is required (or a --config that names the data).")
        return 2
    validation = args.validation or config.validation
    backend = LocalBackend()
    available = backend.availability()
    if not available.ok:
        _err(f"{backend.label}: {available.reason} {available.hint}".strip())
        return 2
    data_path = Path(data)
    spec = settings.to_spec(
        model=model or DEFAULT_LOCAL_MODEL,
        dataset=_source(data),
        dataset_sha256=sha256_of(data_path) if data_path.is_file() else "",
        validation=_source(validation) if validation else None,
        name=args.suffix or "",
    )
    refused, spec = refuse_or_go(backend, spec)
    if refused is not None:
        return refused

    def launch() -> Any:
        for line in render_estimate(backend.estimate(spec), backend.inventory, settings.gpus):
            _err(line)
        return backend.launch(spec, store)

    return start_run(launch, args, follow, failed=2)


def _source(text: str) -> str:
    """A local file or folder as an absolute path; a Hugging Face dataset id as it is."""
    from backends.data.hf import is_hf_source

    path = Path(text).expanduser()
    if not path.exists() and is_hf_source(text):
        return text
    return str(path.resolve())


def _sft_run(args: argparse.Namespace, model: str | None) -> Any:
    """The finished SFT run ``--from-run`` names, or ``None`` (the reason on stderr)."""
    from backends import registry
    from backends.runs.values import SUPERVISED, RunState

    try:
        folder = store_of(args).find(args.from_run)
    except KeyError as error:
        _err(f"--from-run: {error.args[0]}")
        return None
    spec = folder.read_spec()
    if not registry.is_local(spec.backend):
        _err(
            f"--from-run {folder.run_id} is a {spec.backend} run: DPO starts from a local SFT run."
        )
        return None
    if spec.method != SUPERVISED:
        _err(f"--from-run {folder.run_id} is a {spec.method} run, not a supervised (SFT) one.")
        return None
    if folder.effective_status().state is not RunState.SUCCEEDED:
        _err(f"--from-run {folder.run_id} has not succeeded: start from a finished SFT run.")
        return None
    if model and model != spec.model:
        _err(
            f"--from-run {folder.run_id} trained {spec.model}, not {model}: "
            "leave out --model to continue it."
        )
        return None
    return folder


def follow(folder: Any, *, interval: float = 1.0, backlog: int | None = None) -> int:
    """Print a local run's log, metrics and state from its folder until it ends."""
    return print_until_done(
        folder,
        interval=interval,
        backlog=backlog,
        stopped="\nStopped following; the run goes on. "
        f"Cancel it: finetune-tui cancel {folder.run_id}",
        final_lines=lambda status: [f"Output: {path}" for path in status.result_files],
    )


def run_estimate(args: argparse.Namespace) -> int:
    from backends import registry
    from backends.backend import BackendError
    from backends.catalog import DEFAULT_LOCAL_MODEL
    from backends.local.memory import check_fit, estimate_memory, render_estimate, visible_gpus
    from backends.local.models import read_model_config, resolve_model
    from backends.registry import LORA

    choice = objective_and_adapter(args, registry.LOCAL)
    if choice is None:
        return 2
    model = args.model or DEFAULT_LOCAL_MODEL
    try:
        config = read_model_config(resolve_model(model))
    except BackendError as error:
        _err(str(error))
        return 2
    estimate = estimate_memory(
        config,
        choice[1] or LORA,
        batch_size=args.batch_size,
        max_length=args.max_length,
        gradient_checkpointing=args.gradient_checkpointing,
        lora_r=args.lora_r,
        objective=choice[0],
    )
    inventory = visible_gpus()
    print(model)
    for line in render_estimate(estimate, inventory, args.gpus):
        print(line)
    report = check_fit(estimate, inventory, args.gpus)
    return 1 if any(not fit.fits for fit in report.fits) else 0


def _find(args: argparse.Namespace) -> Any:
    return find_run(args)


def run_cancel(args: argparse.Namespace) -> int:
    return _control(args, "cancel")


def _control(args: argparse.Namespace, action: str) -> int:
    """``cancel`` / ``save``: the monitor's control path (``backends.control``), from the shell."""
    from backends import control
    from backends.backend import BackendError

    folder = _find(args)
    if folder is None:
        return 2
    try:
        done = control.perform(folder, control.Action(action))
    except BackendError as error:
        _err(str(error))
        return 1
    print(f"{done} ({folder.run_id})")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    from backends import registry
    from backends.local.backend import LocalBackend

    folder = _find(args)
    if folder is None:
        return 2
    if not registry.is_local(folder.read_spec().backend):
        _err("Only local runs resume from a checkpoint here.")
        return 2

    def resume() -> Any:
        LocalBackend().resume(folder)
        return folder

    return start_run(resume, args, lambda run: follow(run, backlog=RESUME_BACKLOG), failed=1)


def run_save(args: argparse.Namespace) -> int:
    return _control(args, "save_now")
