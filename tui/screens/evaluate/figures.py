"""The Evaluate stage's figures in words: the arguments a choice means, table cells, benefit lines.

No widgets here: the Setup and Results steps (and the example view) format with these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.state import EvalChoice

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison

METRIC_COLUMNS = (("exact_match", "EM"), ("token_f1", "F1"), ("rouge_l", "ROUGE-L"))
JUDGE_COLUMN = ("judge", "Judge")
JUDGE_OFF = "Off. A hosted model grading each answer 1-5 (billed: priced here first)."


def eval_arguments_for(choice: EvalChoice, app: Any) -> Any:
    """The ``finetune-tui eval`` arguments that say what ``choice`` says."""
    from tui.commands.evaluate import eval_arguments

    split = choice.source == "split"
    return eval_arguments(
        workspace=str(app.workspace.root),
        data=choice.train_path if split else choice.eval_path,
        train=None if split else (choice.train_path or None),
        split=choice.split_fraction if split else None,
        model=choice.model,
        provider=choice.provider or None,
        few_shot=choice.few_shot_k,
        rag=choice.rag_k,
        tuned=choice.tuned or None,
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
    """Where the judge runs: the evaluation's provider when hosted, else OpenAI."""
    return choice.provider if choice.provider in ("openai", "azure") else "openai"


def judge_cost_text(choice: EvalChoice, app: Any) -> str:
    """The judge's estimated cost for ``choice``, or why it cannot be priced yet (off the UI thread)."""
    from backends.backend import BackendError
    from tui.commands.evaluate import guess_provider, load_set
    from tui.commands.evaluate_judge import judge_estimate

    args = eval_arguments_for(choice, app)
    try:
        eval_set = load_set(args)
        provider = args.provider or guess_provider(args.model)
        estimate = judge_estimate(args, eval_set, provider, zero_shot=choice.zero_shot)
    except (BackendError, ValueError, OSError) as problem:
        return f"Priced once the held-out data loads ({problem})."
    return f"{estimate.summary()} Runs after the methods."


def metric_columns(comparison: Comparison) -> tuple[tuple[str, str], ...]:
    """The score columns: EM, F1, ROUGE-L, and the judge's when one graded."""
    return METRIC_COLUMNS + ((JUDGE_COLUMN,) if comparison.judge is not None else ())


def method_label(result: Any) -> str:
    from backends.evaluate.compare import METHOD_LABELS

    return METHOD_LABELS[result.method] + (f" k={result.shots}" if result.shots else "")


def interval(summary: Any) -> str:
    return "-" if summary is None else f"{summary.mean:.2f} {summary.low:.2f}–{summary.high:.2f}"


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.3f}"


def benefit_lines(comparison: Comparison, requested: int) -> list[str]:
    """The benefit figures in words, then what is missing and why."""
    from backends.evaluate.compare import METHOD_LABELS
    from backends.evaluate.scoring import METRIC_LABELS

    lines: list[str] = []
    benefit = comparison.benefit
    if benefit is not None:
        metric = METRIC_LABELS[benefit.metric]
        if benefit.quality_gain is not None and benefit.best_alternative is not None:
            lines.append(
                f"Quality gain ({metric}): {benefit.quality_gain:+.3f} over the best alternative, "
                f"{METHOD_LABELS[benefit.best_alternative]} "
                f"({benefit.best_alternative_score:.3f} → {benefit.tuned_score:.3f})."
            )
        elif benefit.best_alternative is not None:
            lines.append(
                f"Best alternative ({metric}): {METHOD_LABELS[benefit.best_alternative]} "
                f"at {benefit.best_alternative_score:.3f}. Add a tuned model to see the gain."
            )
        if benefit.prompt_tokens_saved:
            saved = ", ".join(
                f"{tokens:,.0f} vs {METHOD_LABELS[name]}"
                for name, tokens in benefit.prompt_tokens_saved.items()
            )
            lines.append(f"Prompt tokens saved per request: {saved}.")
        costs = [
            f"{METHOD_LABELS[name]} {usd(cost)}"
            for name, cost in benefit.cost_per_1000.items()
            if cost is not None
        ]
        if costs:
            lines.append(
                f"Cost per 1,000 requests: {' · '.join(costs)} (prices as of {benefit.prices_as_of})."
            )
        if benefit.break_even_requests is not None:
            lines.append(
                f"Break-even: {benefit.break_even_requests:,.0f} requests (training "
                f"{usd(benefit.training_cost)} ÷ ${benefit.saving_per_request:.6f} saved per request)."
            )
        elif "tuned" in comparison.methods:
            lines.append(
                "Break-even: needs a training cost and a saving per request "
                "(a tuned model cheaper per request than the best alternative)."
            )
    for result in comparison.methods.values():
        if result.errors:
            lines.append(
                f"{method_label(result)}: {result.errors} failed, e.g. {result.first_error}"
            )
    if comparison.judge is not None:
        from backends.evaluate.judge import judge_lines

        lines += judge_lines(comparison.judge)
    lines += [f"Note: {note}" for note in comparison.notes]
    if comparison.cancelled:
        answered = sum(r.answered + r.errors for r in comparison.methods.values())
        lines.append(f"Stopped: partial results ({answered} of {requested} requests answered).")
    return lines
