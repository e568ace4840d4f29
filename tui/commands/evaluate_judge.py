"""The LLM judge of ``finetune-tui eval``: its provider, its price before it runs, the confirmation.

``--judge MODEL`` grades every answer 1-5 on a hosted model. It runs where the
evaluation runs when that is hosted (same provider settings and key); a local
evaluation names the judge's provider with ``--judge-provider openai|azure``.
The estimated cost is printed before anything is sent; like ``train``, a run
asks to confirm on a terminal, and elsewhere needs ``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.commands.evaluate import UsageProblem

JUDGE_PROVIDERS = ("openai", "azure")


def add_judge_arguments(parser: Any) -> None:
    parser.add_argument(
        "--judge",
        metavar="MODEL",
        help="also grade every answer 1-5 with this hosted model (an LLM judge; billed)",
    )
    parser.add_argument(
        "--judge-provider",
        choices=JUDGE_PROVIDERS,
        default=None,
        help="where the judge runs (default: the evaluation's provider; needed when it is local)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="run the judge without asking to confirm its cost"
    )


def judge_provider(args: argparse.Namespace, provider: str) -> str:
    """The judge's provider: ``--judge-provider``, else the evaluation's (when hosted)."""
    chosen = getattr(args, "judge_provider", None)
    if chosen:
        return str(chosen)
    if provider == "local":
        raise UsageProblem(
            f"the judge {args.judge} runs on a hosted model, and the evaluation is local: "
            "add --judge-provider openai (or azure)."
        )
    return provider


def judge_estimate(
    args: argparse.Namespace, eval_set: Any, provider: str, *, zero_shot: bool = True
):
    """The judge's price before it runs, for the methods these arguments will answer with."""
    from backends.evaluate.judge_cost import estimate_judge_cost, planned_methods

    methods = planned_methods(
        zero_shot=zero_shot,
        few_shot_k=args.few_shot,
        rag_k=args.rag,
        has_pool=bool(eval_set.pool),
        tuned=bool(args.tuned),
    )
    return estimate_judge_cost(
        eval_set.examples,
        methods,
        args.judge,
        provider=judge_provider(args, provider),
        max_answer_tokens=args.max_tokens,
    )


def make_judge(args: argparse.Namespace, provider: str) -> Any:
    """The hosted judge runner (its key checked now, before anything is sent)."""
    from backends.evaluate.judge import judge_runner
    from backends.hosted.errors import HostedError
    from tui.commands.evaluate import hosted_settings

    settings = hosted_settings(judge_provider(args, provider), args)
    secret = getattr(args, "secret", None) or None
    problem = settings.missing(secret)
    if problem:
        raise HostedError(f"The judge needs {settings.label}: {problem}", kind="config")
    return judge_runner(settings, args.judge, secret=secret, concurrency=args.concurrency)


def confirm_judge(estimate: Any, args: argparse.Namespace) -> bool:
    """Print the judge's estimated cost; ``True`` when it may run (``--yes`` or a yes typed)."""
    print(f"LLM judge: {estimate.summary()}", file=sys.stderr)
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print("Not a terminal: pass --yes to run the judge.", file=sys.stderr)
        return False
    answer = input("Run the judge? [y/N] ").strip().lower()
    return answer in ("y", "yes")
