"""The Evaluate stage's choice as a request, and its figures as table cells.

No widgets here: the Setup and Results steps (and the example view) format
with these; the benefit lines are ``backends.evaluate.wording``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.state import EvalChoice

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison
    from backends.evaluate.request import EvalRequest
    from backends.evaluate.scoring import Summary

METRIC_COLUMNS = (("exact_match", "EM"), ("token_f1", "F1"), ("rouge_l", "ROUGE-L"))
JUDGE_COLUMN = ("judge", "Judge")
JUDGE_OFF = "Off. A hosted model grading each answer 1-5 (billed: priced here first)."


def request_for(choice: EvalChoice, app: Any) -> EvalRequest:
    """What ``choice`` asks to evaluate, with the session's key and Azure endpoint."""
    from backends.evaluate.request import EvalRequest

    split = choice.source == "split"
    return EvalRequest(
        workspace=str(app.workspace.root),
        data=choice.train_path if split else choice.eval_path,
        train=None if split else (choice.train_path or None),
        split=choice.split_fraction if split else None,
        model=choice.model,
        provider=choice.provider or None,
        zero_shot=choice.zero_shot,
        few_shot=choice.few_shot_k,
        rag=choice.rag_k,
        tuned=choice.tuned or None,
        current=choice.current or None,
        limit=choice.limit,
        seed=choice.seed,
        concurrency=choice.concurrency,
        secret=app.backend_choice.secret or None,
        azure_endpoint=app.backend_choice.azure_endpoint or None,
        api_version=app.backend_choice.api_version or None,
        judge=choice.judge or None,
        judge_provider=judge_provider_for(choice) if choice.judge else None,
    )


def judge_provider_for(choice: EvalChoice) -> str:
    """Where the judge runs: the evaluation's provider when hosted, else the default hosted one."""
    from backends.evaluate.setup import default_judge_provider

    return default_judge_provider(choice.provider)


def judge_cost_text(choice: EvalChoice, app: Any) -> str:
    """The judge's estimated cost for ``choice``, or why it cannot be priced yet (off the UI thread)."""
    from backends.backend import BackendError
    from backends.evaluate.setup import judge_estimate, load_set

    request = request_for(choice, app)
    try:
        eval_set = load_set(request)
        estimate = judge_estimate(request, eval_set, request.where)
    except (BackendError, ValueError, OSError) as problem:
        return f"Priced once the held-out data loads ({problem})."
    return f"{estimate.summary()} Runs after the methods."


def metric_columns(comparison: Comparison) -> tuple[tuple[str, str], ...]:
    """The score columns: EM, F1, ROUGE-L, and the judge's when one graded."""
    return METRIC_COLUMNS + ((JUDGE_COLUMN,) if comparison.judge is not None else ())


def interval(summary: Summary | None) -> str:
    return "-" if summary is None else f"{summary.mean:.2f} {summary.low:.2f}–{summary.high:.2f}"
