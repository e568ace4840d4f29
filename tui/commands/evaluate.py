"""``finetune-tui eval``: the held-out prompts through the base model's alternatives and the tuned model.

    finetune-tui eval --data EVAL.jsonl --model BASE [--provider openai|azure|local]
        [--few-shot K] [--rag K] [--train TRAIN.jsonl] [--tuned RUN|MODEL] [--limit N] [--json]
        [--judge MODEL [--judge-provider openai|azure] [--yes]]

``--tuned`` takes a run of the workspace (a hosted run's fine-tuned model, a
local run's adapter) or a model (an ``ft:`` name, a folder, an adapter
folder). Keys come from the environment only and never appear in the output.
``--judge`` adds an LLM judge's 1-5 grade (``tui.commands.evaluate_judge``):
its estimated cost is printed first, and it runs after a yes or ``--yes``.

Exit status: 0 compared, 1 nothing could be answered, 2 bad usage or input,
130 interrupted (what finished is still printed).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

PROVIDERS = ("openai", "azure", "local")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure the base model (zero-shot, few-shot, RAG) and the tuned model side by side",
    )
    parser.add_argument("--data", required=True, metavar="EVAL.jsonl", help="held-out examples")
    parser.add_argument("--model", required=True, metavar="BASE", help="the base model")
    parser.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=None,
        help="where the models run (default: local for a path or an owner/name hub id, else openai)",
    )
    parser.add_argument("--few-shot", type=int, default=3, metavar="K", help="0 leaves it out")
    parser.add_argument("--rag", type=int, default=3, metavar="K", help="0 leaves it out")
    parser.add_argument(
        "--train", metavar="TRAIN.jsonl", help="examples few-shot and RAG draw from"
    )
    parser.add_argument(
        "--split",
        type=float,
        metavar="FRACTION",
        help="treat --data as training data: hold out this seeded share as the evaluation set",
    )
    parser.add_argument("--tuned", metavar="RUN|MODEL", help="a run id or a tuned model")
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate the first N examples")
    parser.add_argument("--max-tokens", type=int, default=256, metavar="N")
    parser.add_argument("--concurrency", type=int, default=8, metavar="N")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    parser.add_argument(
        "--azure-endpoint",
        metavar="URL",
        help="Azure OpenAI endpoint (default: AZURE_OPENAI_ENDPOINT)",
    )
    parser.add_argument(
        "--api-version",
        metavar="VERSION",
        help="Azure OpenAI API version (default: OPENAI_API_VERSION)",
    )
    from tui.commands.evaluate_judge import add_judge_arguments

    add_judge_arguments(parser)
    parser.set_defaults(handler=run_eval)


class UsageProblem(Exception):
    pass


def guess_provider(model: str) -> str:
    if Path(model).expanduser().exists() or model.lower().endswith(".gguf"):
        return "local"
    if "/" in model and not model.startswith("ft:"):
        return "local"
    return "openai"


def eval_arguments(**values: Any) -> argparse.Namespace:
    """The ``eval`` subcommand's arguments with their defaults, overridden by ``values``.

    The TUI's Evaluate stage builds its comparison through ``prepare`` with these.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workspace", default=None)
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--data", "", "--model", ""])
    for name, value in values.items():
        if not hasattr(args, name) and name != "secret":
            raise TypeError(f"eval has no argument {name!r}")
        setattr(args, name, value)
    return args


def hosted_settings(provider: str, args: argparse.Namespace) -> Any:
    """The provider's settings from the environment, with the Azure endpoint/version given."""
    from backends.hosted.settings import AZURE, HostedSettings

    if provider != AZURE:
        return HostedSettings.from_env(provider)
    return HostedSettings.from_env(
        provider,
        azure_endpoint=(getattr(args, "azure_endpoint", None) or "").strip() or None,
        api_version=(getattr(args, "api_version", None) or "").strip() or None,
    )


def _hosted_runner(provider: str, model: str, args: argparse.Namespace, settings: Any = None):
    from backends.evaluate.runners import HostedRunner
    from backends.hosted.errors import HostedError

    settings = settings or hosted_settings(provider, args)
    # A key typed in the TUI for this session (the command line reads the environment only).
    secret = getattr(args, "secret", None) or None
    problem = settings.missing(secret)
    if problem:
        raise HostedError(problem, kind="config")
    return HostedRunner(
        settings, model, secret=secret, concurrency=args.concurrency, max_tokens=args.max_tokens
    )


def _local_runner(model: str, args: argparse.Namespace, adapter: str | None = None):
    from backends.evaluate.runners import LocalRunner

    return LocalRunner(
        model, adapter=adapter, batch_size=args.batch_size, max_new_tokens=args.max_tokens
    )


def _tuned_runner(args: argparse.Namespace, provider: str) -> tuple[Any, str | None, float | None]:
    """The tuned model's runner, the training file it learnt from and the training bill (when a run says)."""
    from backends.runs import RunStore
    from backends.runs.store import RunIdRefused
    from backends.workspace import Workspace

    name = args.tuned
    store = RunStore.of(Workspace.at(args.workspace))
    try:
        folder = store.find(name)
    except RunIdRefused as error:
        if not name.strip() or "/" not in name:  # a path with '..' may still be a model folder
            raise UsageProblem(f"--tuned {name!r}: {error.args[0]}") from error
        folder = None
    except (KeyError, OSError):
        folder = None
    if folder is None:
        if provider == "local":
            return _local_runner(name, args), None, None
        return _hosted_runner(provider, name, args), None, None
    spec = folder.read_spec()
    if spec.backend == "local":
        output = folder.output_dir
        for candidate, adapter in (("merged", False), ("adapter", True), ("model", False)):
            path = output / candidate
            if path.is_dir():
                if adapter:
                    return (
                        _local_runner(spec.model, args, adapter=str(path)),
                        spec.dataset,
                        None,
                    )
                return _local_runner(str(path), args), spec.dataset, None
        raise UsageProblem(f"Run {folder.run_id} has no trained model in {output} yet.")
    from backends.catalog import find_any_hosted
    from backends.hosted.backend import settings_of

    status = folder.read_status()
    tuned_model = status.fine_tuned_model
    if not tuned_model:
        raise UsageProblem(
            f"Run {folder.run_id} has no fine-tuned model yet (it is "
            f"{folder.read_status().state.value})."
        )
    entry = find_any_hosted(spec.model)
    training_cost = (
        status.trained_tokens * entry.prices.training / 1e6
        if entry is not None and entry.prices.training is not None and status.trained_tokens
        else None
    )
    runner = _hosted_runner(spec.backend, tuned_model, args, settings_of(spec))
    return runner, spec.dataset, training_cost


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_comparison(comparison: Any) -> str:
    from backends.evaluate.compare import METHOD_LABELS
    from backends.evaluate.judge import JUDGE, JUDGE_LABEL, judge_lines
    from backends.evaluate.scoring import METRIC_LABELS, METRICS
    from tui.commands.runs import format_table

    metrics = [*METRICS, *([JUDGE] if comparison.judge is not None else [])]
    labels = {**METRIC_LABELS, JUDGE: JUDGE_LABEL}
    header = ("METHOD", "MODEL", "N", *(labels[m].upper() for m in metrics))
    header = (*header, "PROMPT TOK", "COMPL TOK", "LATENCY", "$/1K REQ")
    rows: list[tuple[str, ...]] = [header]
    costs = comparison.benefit.cost_per_1000 if comparison.benefit else {}
    for name, result in comparison.methods.items():
        cells = []
        for metric in metrics:
            s = result.scores.get(metric)
            cells.append("-" if s is None else f"{s.mean:.3f} [{s.low:.2f}-{s.high:.2f}]")
        label = METHOD_LABELS[name] + (f" (k={result.shots})" if result.shots else "")
        rows.append(
            (
                label,
                result.model,
                f"{result.answered}/{result.requested}",
                *cells,
                _fmt(result.prompt_tokens, 0),
                _fmt(result.completion_tokens, 0),
                "-" if result.latency_s is None else f"{result.latency_s:.2f}s",
                "-" if costs.get(name) is None else f"{costs[name]:.3f}",
            )
        )
    lines = [f"Held out: {comparison.held_out}.", "", format_table(rows), ""]
    benefit = comparison.benefit
    if benefit is not None and benefit.quality_gain is not None:
        lines.append(
            f"Quality gain ({METRIC_LABELS[benefit.metric]}): {benefit.quality_gain:+.3f} over "
            f"{METHOD_LABELS[benefit.best_alternative]}."
        )
    if benefit is not None:
        for name, saved in benefit.prompt_tokens_saved.items():
            lines.append(f"Prompt tokens saved per request vs {METHOD_LABELS[name]}: {saved:,.0f}.")
        if benefit.break_even_requests is not None:
            lines.append(
                f"Break-even: {benefit.break_even_requests:,.0f} requests "
                f"(training ${benefit.training_cost:,.2f} ÷ ${benefit.saving_per_request:.6f} "
                "saved per request)."
            )
        if any(v is not None for v in benefit.cost_per_1000.values()):
            lines.append(f"Prices as of {benefit.prices_as_of} (catalog).")
    for result in comparison.methods.values():
        if result.errors:
            lines.append(
                f"{METHOD_LABELS[result.method]}: {result.errors} failed, e.g. {result.first_error}"
            )
    if comparison.judge is not None:
        lines += judge_lines(comparison.judge)
    lines += [f"Note: {note}" for note in comparison.notes]
    if comparison.cancelled:
        lines.append("Interrupted: partial results.")
    return "\n".join(lines).rstrip() + "\n"


def check_numbers(args: argparse.Namespace) -> str | None:
    """Why the numeric arguments cannot be used, or ``None``."""
    for flag in ("few_shot", "rag", "limit", "max_tokens", "concurrency", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < (1 if flag not in ("few_shot", "rag") else 0):
            return f"--{flag.replace('_', '-')} must be at least 1 (0 for --few-shot/--rag)."
    if args.split is not None and args.train:
        return "--split holds examples out of --data; give --train or --split, not both."
    return None


def prepare(args: argparse.Namespace) -> tuple[Any, Any, Any, float | None]:
    """The evaluation set, the base and tuned runners, and the training bill (when a run says).

    Raises ``UsageProblem``, ``BackendError`` or ``ValueError`` saying what is wrong.
    """
    from backends.evaluate.prompts import drop_trained

    provider = args.provider or guess_provider(args.model)
    eval_set = load_set(args)
    if provider == "local":
        base = _local_runner(args.model, args)
    else:
        base = _hosted_runner(provider, args.model, args)
    tuned, trained_on, training_cost = (None, None, None)
    if args.tuned:
        tuned, trained_on, training_cost = _tuned_runner(args, provider)
    if trained_on and Path(trained_on).is_file():
        drop_trained(eval_set, trained_on)
        if not eval_set.examples:
            raise UsageProblem("every evaluation example is in the tuned model's training file.")
    return eval_set, base, tuned, training_cost


def load_set(args: argparse.Namespace) -> Any:
    """The evaluation set the arguments name (a held-out file, or a seeded split of --data)."""
    from backends.evaluate.prompts import load_eval_set, split_eval_set

    if args.split is not None:
        return split_eval_set(args.data, fraction=args.split, seed=args.seed, limit=args.limit)
    return load_eval_set(args.data, args.train, limit=args.limit)


def run_eval(args: argparse.Namespace) -> int:
    from backends.backend import BackendError

    def fail(message: str, code: int = 2) -> int:
        print(f"finetune-tui eval: {message}", file=sys.stderr)
        return code

    problem = check_numbers(args)
    if problem:
        return fail(problem)
    try:
        eval_set, base, tuned, training_cost = prepare(args)
        judge = None
        if args.judge:
            from tui.commands.evaluate_judge import confirm_judge, judge_estimate, make_judge

            provider = args.provider or guess_provider(args.model)
            judge = (make_judge(args, provider), judge_estimate(args, eval_set, provider))
            if not confirm_judge(judge[1], args):
                return fail("nothing run: the judge's cost was not confirmed.")
        return _run(args, eval_set, base, tuned, training_cost, judge)
    except UsageProblem as problem:
        return fail(str(problem))
    except BackendError as error:
        return fail(str(error), 2 if getattr(error, "kind", "config") == "config" else 1)
    except ValueError as error:
        return fail(str(error))


def _run(
    args: argparse.Namespace,
    eval_set: Any,
    base: Any,
    tuned: Any,
    training_cost: float | None,
    judge: tuple[Any, Any] | None = None,
) -> int:
    import orjson

    from backends.evaluate.compare import Plan, compare

    plan = Plan(base, tuned, few_shot_k=args.few_shot, rag_k=args.rag, seed=args.seed)
    cancel = threading.Event()
    outcome: dict[str, Any] = {}
    show_progress = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int, what: str = "requests") -> None:
        if show_progress:
            print(f"\r{done}/{total} {what}", end="", file=sys.stderr, flush=True)

    def work() -> None:
        try:
            outcome["comparison"] = compare(
                eval_set, plan, cancel=cancel, progress=progress, training_cost=training_cost
            )
            if judge is not None and not cancel.is_set():
                from backends.evaluate.judge import judge_comparison

                judge_comparison(
                    outcome["comparison"],
                    judge[0],
                    cancel=cancel,
                    progress=lambda done, total: progress(done, total, "graded by the judge"),
                    estimate=judge[1],
                    seed=args.seed,
                )
        except BaseException as error:  # reported by the main thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="eval", daemon=True)
    thread.start()
    interrupted = False
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
        print("\nStopping: keeping what finished…", file=sys.stderr)
        thread.join()
    if show_progress:
        print(file=sys.stderr)
    if "error" in outcome:
        raise outcome["error"]
    comparison = outcome["comparison"]
    if args.json:
        sys.stdout.write(
            orjson.dumps(comparison.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        sys.stdout.write(format_comparison(comparison))
    if interrupted:
        return 130
    answered = sum(r.answered for r in comparison.methods.values())
    return 0 if answered else 1
