"""``finetune-tui train --backend openai|azure`` and ``finetune-tui attach``: hosted runs from the shell.

``train --backend local`` shares this parser and is handled by
``tui.commands.train_local`` (which adds its own options to it).

``train`` checks the spec, asks for confirmation (a job costs money; ``--yes``
skips it), uploads, creates the job, prints the run id, and without
``--detach`` watches the run folder until the job ends (Ctrl-C stops only the
watching: the detached follower keeps the folder current). ``attach`` mirrors
a job created elsewhere into a new run folder.

Exit status: 0 succeeded (or detached), 1 the job failed, was cancelled or
refused, 2 usage or configuration.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backends import registry
from tui.commands.run_cli import (
    add_objective_and_adapter,
    objective_and_adapter,
    print_until_done,
    refuse_or_go,
    start_run,
    store_of,
)
from tui.commands.run_cli import err as _err


def register(subparsers: Any) -> None:
    from tui.commands.train_local import add_local_arguments

    train = subparsers.add_parser(
        "train",
        help="launch a fine-tuning run (hosted: openai, azure, together, an OpenAI-compatible "
        "API; or local)",
    )
    train.add_argument("--backend", choices=registry.names(), required=True)
    train.add_argument("--data", metavar="PATH", help="training JSONL file (required)")
    train.add_argument("--validation", metavar="PATH", help="validation JSONL file")
    train.add_argument("--model", help="base model, alias or ft: model to continue from (required)")
    add_objective_and_adapter(train, local_only=False)
    train.add_argument("--epochs", default="auto", help="n_epochs (number or auto)")
    train.add_argument("--batch-size", default="auto")
    train.add_argument("--lr-multiplier", default="auto", help="learning_rate_multiplier")
    train.add_argument("--beta", default="auto", help="DPO beta")
    train.add_argument("--suffix")
    train.add_argument("--seed", type=int)
    train.add_argument("--training-type", help="Azure tier: Standard, GlobalStandard or Developer")
    train.add_argument("--wandb-project", help="send metrics to this Weights & Biases project")
    train.add_argument(
        "--evals", default="auto", help="Together: evaluations during training (n_evals)"
    )
    train.add_argument(
        "--checkpoints", default="auto", help="Together: checkpoints to keep (n_checkpoints)"
    )
    train.add_argument("--warmup-ratio", default="auto", help="Together: warmup ratio")
    add_address_arguments(train)
    train.add_argument("--yes", action="store_true", help="skip the price confirmation")
    train.add_argument("--detach", action="store_true", help="print the run id and return")
    add_local_arguments(train)
    train.set_defaults(handler=run_train)

    attach = subparsers.add_parser(
        "attach", help="mirror an existing hosted job into a new run folder"
    )
    attach.add_argument("job_id", metavar="JOB_ID")
    attach.add_argument("--backend", choices=registry.hosted_names(), required=True)
    add_address_arguments(attach)
    attach.add_argument("--detach", action="store_true")
    attach.set_defaults(handler=run_attach)

    jobs = subparsers.add_parser(
        "jobs", help="list recent fine-tuning jobs of your account (to attach to one)"
    )
    jobs.add_argument("--backend", choices=registry.hosted_names(), required=True)
    add_address_arguments(jobs)
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    jobs.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    jobs.set_defaults(handler=run_jobs)

    download = subparsers.add_parser(
        "download", help="fetch a hosted run's trained weights into its output/ folder"
    )
    download.add_argument("run", metavar="RUN", help="run id, unique prefix or folder")
    download.add_argument(
        "--merged", action="store_true", help="the merged model instead of the adapter"
    )
    download.set_defaults(handler=run_download)


def add_address_arguments(parser: Any) -> None:
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help=f"--backend {registry.COMPATIBLE}: the OpenAI-compatible API's address",
    )
    parser.add_argument(
        "--key-env",
        metavar="VAR",
        help=f"--backend {registry.COMPATIBLE}: the environment variable holding its key",
    )


def hosted_backend_of(args: argparse.Namespace) -> Any:
    """The hosted backend ``--backend`` names (with ``--base-url``/``--key-env`` where it takes
    an address); ``None`` after saying what is wrong."""
    for problem in registry.profile_problems():
        _err(problem)
    info = registry.get(args.backend)
    base_url, key_env = getattr(args, "base_url", None), getattr(args, "key_env", None)
    if (base_url or key_env) and not info.custom_address:
        _err(
            f"--base-url and --key-env are for --backend {registry.COMPATIBLE}; "
            f"{info.label} has its own address."
        )
        return None
    options = {"base_url": base_url, "key_env": key_env} if info.custom_address else {}
    return info.create(**options)  # hosted: attach, list_jobs, provider


def run_train(args: argparse.Namespace) -> int:
    from backends.hosted.spec import hosted_hyperparameters, hosted_spec

    choice = objective_and_adapter(args, args.backend)
    if choice is None:
        return 2
    args.method, args.adapter = choice
    if registry.is_local(args.backend):
        from tui.commands.train_local import run_train_local

        return run_train_local(args)
    if not args.model or not args.data:
        _err("Hosted training needs --model and --data.")
        return 2
    local_only = local_only_flags(args)
    if local_only:
        info = registry.get(args.backend)
        _err(
            f"{', '.join(local_only)}: not taken by {info.label} (local training only); "
            f"{info.label} chooses the rest itself. It takes: "
            f"{', '.join(_HYPERPARAMETER_FLAGS.get(n, n) for n in info.hyperparameters)}."
        )
        return 2
    from backends import locations
    from backends.migration import closed_for, offer_lines

    try:
        today = locations.today()
    except ValueError as error:
        _err(str(error))
        return 2
    closed = closed_for(args.backend, today)
    if closed:
        _err(closed)
        for line in offer_lines(args.model, today, args.data, args.validation):
            _err(line)
        return 2
    store = store_of(args)  # before anything is uploaded
    backend = hosted_backend_of(args)
    if backend is None:
        return 2
    available = backend.availability()
    if not available.ok:
        _err(f"{backend.label}: {available.reason}")
        return 2
    _note_model_list(backend, args.model)
    try:
        hyper = hosted_hyperparameters(
            args.method,
            {
                "n_epochs": args.epochs,
                "batch_size": args.batch_size,
                "learning_rate_multiplier": args.lr_multiplier,
                "learning_rate": args.learning_rate,
                "n_evals": args.evals,
                "n_checkpoints": args.checkpoints,
                "warmup_ratio": args.warmup_ratio,
                "lora_r": args.lora_r,
                "lora_alpha": args.lora_alpha,
                "lora_dropout": args.lora_dropout,
                "beta": args.beta,
            },
            backend=args.backend,
        )
    except ValueError as error:
        _err(f"Hyperparameters must be numbers or 'auto': {error}")
        return 2
    settings: dict[str, Any] = {}
    if args.training_type:
        settings["training_type"] = args.training_type
    if args.wandb_project:
        settings["wandb"] = {"project": args.wandb_project}
    spec = hosted_spec(
        backend.name,
        model=args.model,
        data=args.data,
        validation=args.validation,
        method=args.method,
        hyperparameters=hyper,
        suffix=args.suffix,
        seed=args.seed,
        settings=settings,
        adapter=args.adapter,
    )
    refused, spec = refuse_or_go(backend, spec)
    if refused is not None:
        return refused
    if not args.yes and not _confirm(backend, spec):
        return 2

    def launch() -> Any:
        from backends.hosted.errors import TrainingNotAvailable

        try:
            return backend.launch(spec, store, progress=_UploadProgress())
        except TrainingNotAvailable:
            for line in offer_lines(args.model, today, args.data, args.validation):
                _err(line)
            raise

    return start_run(launch, args, watch, failed=1)


_HYPERPARAMETER_FLAGS = {
    "n_epochs": "--epochs",
    "batch_size": "--batch-size",
    "learning_rate_multiplier": "--lr-multiplier",
    "learning_rate": "--lr",
    "beta": "--beta (dpo)",
    "n_evals": "--evals",
    "n_checkpoints": "--checkpoints",
    "warmup_ratio": "--warmup-ratio",
    "lora_r": "--lora-r",
    "lora_alpha": "--lora-alpha",
    "lora_dropout": "--lora-dropout",
}
"""The ``train`` flag of each hosted hyperparameter."""


def local_only_flags(args: argparse.Namespace) -> list[str]:
    """The local-training flags given on a hosted ``train`` that this backend does not take
    (refused, never silently ignored); a provider that takes e.g. ``lora_r`` keeps it."""
    from tui.commands.train_local import LOCAL_ONLY_FLAGS

    taken = set(registry.get(args.backend).hyperparameters)
    return [
        flag
        for name, flag in LOCAL_ONLY_FLAGS.items()
        if getattr(args, name, None) is not None and name not in taken
    ]


def _note_model_list(backend: Any, model: str) -> None:
    """Where the provider lists its models: the list (kept while fresh, else asked for; the
    catalog when the API does not answer) and whether it has ``model``."""
    from backends import model_lists

    if not isinstance(backend, model_lists.ListsModels):
        return
    offered = model_lists.current(backend)
    known = "lists" if offered.listed(model) else "does not list"
    _err(f"note: the model list ({offered.source}) {known} {model}.")


def _confirm(backend: Any, spec: Any) -> bool:
    from backends import model_lists
    from backends.catalog import PRICES_AS_OF, find_hosted

    if isinstance(backend, model_lists.ListsModels):
        entry = backend.model_list().find(spec.model)
    else:
        entry = find_hosted(backend.provider, spec.model)
    if entry is not None:
        price = entry.training_price(spec.method, spec.adapter)
    else:
        price = registry.get(backend.name).listed_price(spec.model)
    per_token = (
        f"${price:.2f} per 1M training tokens (prices as of {PRICES_AS_OF})"
        if price is not None
        else "price unknown: see the provider's price list"
    )
    _err(
        f"This creates a billable fine-tuning job on {backend.label} for {spec.model}: {per_token}."
    )
    if not sys.stdin.isatty():
        _err("Not a terminal: pass --yes to confirm.")
        return False
    answer = input("Create the job? [y/N] ").strip().lower()
    return answer in ("y", "yes")


class _UploadProgress:
    """Upload progress on stderr: a percentage in a terminal, one line per file otherwise.
    A file is reported done once, however often the SDK reports its last byte."""

    def __init__(self) -> None:
        self._done: set[str] = set()

    def __call__(self, what: str, done: int, total: int) -> None:
        if what in self._done:
            return
        finished = done >= total
        if finished:
            self._done.add(what)
        if sys.stderr.isatty():
            percent = 100 * done // total if total else 100
            end = "\n" if finished else ""
            print(f"\rUploading {what}: {percent:3d}%", end=end, file=sys.stderr, flush=True)
        elif finished:
            _err(f"Uploaded {what} ({total:,} bytes)")


def run_attach(args: argparse.Namespace) -> int:

    backend = hosted_backend_of(args)
    if backend is None:
        return 2
    return start_run(lambda: backend.attach(args.job_id, store_of(args)), args, watch, failed=1)


def run_download(args: argparse.Namespace) -> int:
    """Where the registry says a backend can download: the weights, into ``output/``."""
    from backends.backend import BackendError
    from tui.commands.run_cli import find_run

    folder = find_run(args)
    if folder is None:
        return 2
    info = registry.find(folder.read_spec().backend)
    if info is None or not info.hosted or not info.download:
        _err(f"{registry.label(folder.read_spec().backend)} runs have nothing to download.")
        return 2
    try:
        backend: Any = registry.reconnect(folder)  # the registry says it downloads
        path = backend.download(folder, merged=args.merged)
    except BackendError as error:
        _err(f"finetune-tui download: {error}")
        return 1
    print(path)
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    """Recent jobs, newest first: id, state, base model, fine-tuned model."""
    import time

    import orjson

    from backends.backend import BackendError
    from backends.text import printable_line

    try:
        backend = hosted_backend_of(args)
        if backend is None:
            return 2
        jobs = backend.list_jobs(limit=max(1, args.limit))
    except BackendError as error:
        _err(f"finetune-tui jobs: {error}")
        return 1
    if args.json:
        rows = [
            {
                "job_id": job.job_id,
                "status": job.status,
                "model": job.model,
                "fine_tuned_model": job.fine_tuned_model,
                "created_at": job.created_at,
                "suffix": job.suffix,
            }
            for job in jobs
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if not jobs:
        print("No fine-tuning jobs on this account.")
        return 0
    for job in jobs:
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(job.created_at))
        tuned = f"  → {job.fine_tuned_model}" if job.fine_tuned_model else ""
        print(printable_line(f"{job.job_id}  {job.status:<17} {created} UTC  {job.model}{tuned}"))
    print(f"\nAttach to one: finetune-tui attach JOB_ID --backend {args.backend}")
    from backends.hosted.api import fine_tuned_models

    models = fine_tuned_models(jobs)
    if models:
        print("\nYour fine-tuned models (they keep serving):")
        for job in models:
            print(printable_line(f"  {job.fine_tuned_model}  (from {job.model}, job {job.job_id})"))
        print("Compare one with its replacement: finetune-tui eval ... --current MODEL")
    return 0


def watch(folder: Any, *, interval: float | None = None) -> int:
    """Print a run's progress from its folder until it ends; restarts a dead follower on the way."""
    from backends.hosted.follower import ensure_follower
    from backends.locations import poll_interval

    if interval is None:
        interval = poll_interval()
    if interval is None:
        interval = 1.0

    said: list[str] = []

    def keep_follower(status: Any) -> None:
        if status.extra.get("follower_alive") is False:
            try:
                ensure_follower(folder)
            except OSError as error:  # a full disk: keep watching, try again next time
                from backends.files import disk_problem

                if not said:
                    said.append(disk_problem(error))
                    _err(f"{said[0]} The follower is started again once there is space.")

    def fine_tuned(status: Any) -> list[str]:
        if not status.fine_tuned_model:
            return []
        lines = [f"Fine-tuned model: {status.fine_tuned_model}"]
        deploy = registry.get(folder.read_spec().backend).deployment_instructions(
            status.fine_tuned_model
        )
        if deploy:
            lines += ["", deploy]
        return lines

    return print_until_done(
        folder,
        interval=interval,
        stopped="\nStopped watching; the run goes on. "
        f"Watch again: finetune-tui attach/watch {folder.run_id}",
        final_lines=fine_tuned,
        on_status=keep_follower,
    )
