"""The LLM judge of ``finetune-tui eval``: its arguments and the confirmation of its price.

``--judge MODEL`` grades every answer 1-5 on a hosted model. It runs where the
evaluation runs when that is hosted (same provider settings and key); a local
evaluation names the judge's provider with ``--judge-provider openai|azure``.
The estimated cost (``backends.evaluate.setup``) is printed before anything is
sent; like ``train``, a run asks to confirm on a terminal, and elsewhere needs
``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from backends import registry

if TYPE_CHECKING:
    from backends.evaluate.verdicts import JudgeEstimate


def add_judge_arguments(parser: Any) -> None:
    parser.add_argument(
        "--judge",
        metavar="MODEL",
        help="also grade every answer 1-5 with this hosted model (an LLM judge; billed)",
    )
    parser.add_argument(
        "--judge-provider",
        choices=registry.hosted_names(),
        default=None,
        help="where the judge runs (default: the evaluation's provider; needed when it is local)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="run the judge without asking to confirm its cost"
    )


def confirm_judge(estimate: JudgeEstimate, args: argparse.Namespace) -> bool:
    """Print the judge's estimated cost; ``True`` when it may run (``--yes`` or a yes typed)."""
    print(f"LLM judge: {estimate.summary()}", file=sys.stderr)
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print("Not a terminal: pass --yes to run the judge.", file=sys.stderr)
        return False
    answer = input("Run the judge? [y/N] ").strip().lower()
    return answer in ("y", "yes")
