"""One evaluation: compare the methods, then (when one is set and nothing was cancelled) judge.

``run`` reports progress as ``(done, total, phase)``: ``REQUESTS`` while the
methods answer, then ``JUDGED`` while the judge grades. ``cancel`` stops
between requests (a local model: between batches); what finished is kept,
scored, and marked as partial. It blocks: the CLI and the Evaluate stage call
it from a thread of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from backends.evaluate.compare import Comparison, Plan, compare
from backends.evaluate.setup import Evaluation

REQUESTS = "requests"
"""The methods answering the held-out prompts."""
JUDGED = "judged"
"""The LLM judge grading the answers."""

Progress = Callable[[int, int, str], object]
"""``(done, total, phase)``, called from any thread."""


def run(
    evaluation: Evaluation,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Compare, then judge: the comparison (partial when cancelled)."""
    cancel = cancel or threading.Event()
    request = evaluation.request

    def report(phase: str) -> Callable[[int, int], None]:
        def on_progress(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total, phase)

        return on_progress

    plan = Plan(
        evaluation.base,
        evaluation.tuned,
        few_shot_k=request.few_shot,
        rag_k=request.rag,
        zero_shot=request.zero_shot,
        seed=request.seed,
        current=evaluation.current,
    )
    comparison = compare(
        evaluation.eval_set,
        plan,
        cancel=cancel,
        progress=report(REQUESTS),
        training_cost=evaluation.training_cost,
    )
    judge = evaluation.judge
    if judge is not None and not cancel.is_set():
        from backends.evaluate.judge import judge_comparison

        judge_comparison(
            comparison,
            judge.runner,
            cancel=cancel,
            progress=report(JUDGED),
            estimate=judge.estimate,
            seed=request.seed,
        )
    return comparison
