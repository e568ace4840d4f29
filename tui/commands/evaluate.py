"""``finetune-tui eval``: the held-out prompts through the base model's alternatives and the tuned model.

    finetune-tui eval --data EVAL.jsonl --model BASE [--provider BACKEND]
        [--few-shot K] [--rag K] [--train TRAIN.jsonl] [--tuned RUN|MODEL] [--current ft:MODEL]
        [--limit N] [--json]
        [--judge MODEL [--judge-provider openai|azure] [--yes]]

``--tuned`` takes a run of the workspace (a hosted run's fine-tuned model, a
local run's adapter) or a model (an ``ft:`` name, a folder, an adapter
folder). ``--current`` adds a fine-tuned model already in use (an OpenAI ``ft:`` model) as
its own row, "current fine-tune", with its cost per 1,000 requests. Keys come from the environment only and never appear in the output.
``--judge`` adds an LLM judge's 1-5 grade (``tui.commands.evaluate_judge``):
its estimated cost is printed first, and it runs after a yes or ``--yes``.

Exit status: 0 compared, 1 nothing could be answered, 2 bad usage or input,
130 interrupted (what finished is still printed).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING, Any

from backends import registry
from tui.commands.evaluate_judge import add_judge_arguments, confirm_judge

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison
    from backends.evaluate.request import EvalRequest
    from backends.evaluate.setup import Evaluation


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure the base model (zero-shot, few-shot, RAG) and the tuned model side by side",
    )
    parser.add_argument("--data", required=True, metavar="EVAL.jsonl", help="held-out examples")
    parser.add_argument("--model", required=True, metavar="BASE", help="the base model")
    parser.add_argument(
        "--provider",
        choices=registry.names(),
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
    parser.add_argument(
        "--current",
        metavar="ft:MODEL",
        help="a fine-tuned model in use today: its own row, 'current fine-tune', on the same prompts",
    )
    parser.add_argument(
        "--current-provider",
        choices=registry.names(),
        default=None,
        help="where --current is served (default: openai for an ft: model, else --provider)",
    )
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
    add_judge_arguments(parser)
    parser.set_defaults(handler=run_eval)


def request_of(args: argparse.Namespace) -> EvalRequest:
    """What the arguments ask to evaluate."""
    from backends.evaluate.request import EvalRequest

    return EvalRequest(
        data=args.data,
        model=args.model,
        provider=args.provider,
        train=args.train,
        split=args.split,
        seed=args.seed,
        limit=args.limit,
        few_shot=args.few_shot,
        rag=args.rag,
        tuned=args.tuned,
        current=args.current,
        current_provider=args.current_provider,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        judge=args.judge,
        judge_provider=args.judge_provider,
        workspace=args.workspace,
        azure_endpoint=args.azure_endpoint,
        api_version=args.api_version,
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_comparison(comparison: Comparison) -> str:
    from backends.evaluate.compare import METHOD_LABELS
    from backends.evaluate.scoring import METRIC_LABELS, METRICS
    from backends.evaluate.verdicts import JUDGE, JUDGE_LABEL
    from backends.evaluate.wording import summary_lines
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
    lines = [
        f"Held out: {comparison.held_out}.",
        "",
        format_table(rows),
        "",
        *summary_lines(comparison),
    ]
    return "\n".join(lines).rstrip() + "\n"


def run_eval(args: argparse.Namespace) -> int:
    from backends.backend import BackendError
    from backends.evaluate.request import UsageProblem
    from backends.evaluate.setup import prepare

    def fail(message: str, code: int = 2) -> int:
        print(f"finetune-tui eval: {message}", file=sys.stderr)
        return code

    request = request_of(args)
    problem = request.problem()
    if problem:
        return fail(problem)
    try:
        evaluation = prepare(request)
        if evaluation.judge is not None and not confirm_judge(evaluation.judge.estimate, args):
            return fail("nothing run: the judge's cost was not confirmed.")
        return _run(args, evaluation)
    except UsageProblem as problem:
        return fail(str(problem))
    except BackendError as error:
        return fail(str(error), 2 if getattr(error, "kind", "config") == "config" else 1)
    except ValueError as error:
        return fail(str(error))


def _run(args: argparse.Namespace, evaluation: Evaluation) -> int:
    """The session in a thread (Ctrl-C cancels it, keeping what finished), then the result."""
    import orjson

    from backends.evaluate import session

    cancel = threading.Event()
    outcome: dict[str, Any] = {}
    show_progress = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int, phase: str) -> None:
        if show_progress:
            what = "graded by the judge" if phase == session.JUDGED else "requests"
            print(f"\r{done}/{total} {what}", end="", file=sys.stderr, flush=True)

    def work() -> None:
        try:
            outcome["comparison"] = session.run(evaluation, cancel=cancel, progress=progress)
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
