"""A comparison's benefit in words: the lines the Results step shows and the ones ``eval`` prints.

Both say the same figures (quality gain, prompt tokens saved, cost per 1,000
requests, break-even), then what failed, the judge's report, the notes and
whether it was stopped. The Results step's lines are the longer ones (they
name the scores and what is missing); the CLI's follow its table.
"""

from __future__ import annotations

from collections.abc import Callable

from backends.evaluate.compare import (
    CURRENT,
    METHOD_LABELS,
    TUNED,
    Benefit,
    Comparison,
    MethodResult,
)
from backends.evaluate.scoring import METRIC_LABELS
from backends.evaluate.verdicts import judge_lines


def method_label(result: MethodResult) -> str:
    """``Few-shot k=3``: the method's label with its number of examples."""
    return METHOD_LABELS[result.method] + (f" k={result.shots}" if result.shots else "")


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.3f}"


def _closing_lines(comparison: Comparison, label: Callable[[MethodResult], str]) -> list[str]:
    """What failed, the judge's report and the notes."""
    lines = [
        f"{label(result)}: {result.errors} failed, e.g. {result.first_error}"
        for result in comparison.methods.values()
        if result.errors
    ]
    if comparison.judge is not None:
        lines += judge_lines(comparison.judge)
    lines += [f"Note: {note}" for note in comparison.notes]
    return lines


def current_line(benefit: Benefit) -> str | None:
    """The tuned model against the current fine-tune: scores and cost per 1,000 requests."""
    if benefit.current_score is None:
        return None
    metric = METRIC_LABELS[benefit.metric]
    costs = benefit.cost_per_1000
    if benefit.tuned_score is None:
        return (
            f"Current fine-tune ({metric}): {benefit.current_score:.3f}; "
            f"{usd(costs.get(CURRENT))} per 1,000 requests."
        )
    return (
        f"Against the current fine-tune ({metric}): tuned {benefit.tuned_score:.3f} vs current "
        f"{benefit.current_score:.3f} ({benefit.tuned_score - benefit.current_score:+.3f}); per "
        f"1,000 requests {usd(costs.get(TUNED))} tuned vs {usd(costs.get(CURRENT))} current."
    )


def benefit_lines(comparison: Comparison, requested: int) -> list[str]:
    """The Results step's lines: the benefit figures in words, then what is missing and why."""
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
        against = current_line(benefit)
        if against:
            lines.append(against)
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
        elif TUNED in comparison.methods:
            lines.append(
                "Break-even: needs a training cost and a saving per request "
                "(a tuned model cheaper per request than the best alternative)."
            )
    lines += _closing_lines(comparison, method_label)
    if comparison.cancelled:
        answered = sum(r.answered + r.errors for r in comparison.methods.values())
        lines.append(f"Stopped: partial results ({answered} of {requested} requests answered).")
    return lines


def summary_lines(comparison: Comparison) -> list[str]:
    """The lines ``finetune-tui eval`` prints under its table."""
    lines: list[str] = []
    benefit = comparison.benefit
    if (
        benefit is not None
        and benefit.quality_gain is not None
        and benefit.best_alternative is not None
    ):
        lines.append(
            f"Quality gain ({METRIC_LABELS[benefit.metric]}): {benefit.quality_gain:+.3f} over "
            f"{METHOD_LABELS[benefit.best_alternative]}."
        )
    if benefit is not None:
        against = current_line(benefit)
        if against:
            lines.append(against)
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
    lines += _closing_lines(comparison, lambda result: METHOD_LABELS[result.method])
    if comparison.cancelled:
        lines.append("Interrupted: partial results.")
    return lines
