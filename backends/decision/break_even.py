"""Break-even: training cost ÷ saving per request = requests until fine-tuning has paid for itself.

The saving is priced honestly: a fine-tuned model's tokens cost more than
the base model's, so a shorter prompt does not always save money.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.catalog import Provider, find_any_hosted, find_hosted
from backends.decision.answers import Answers


@dataclass(frozen=True)
class BreakEven:
    """Training cost ÷ saving per request = requests until the training has paid for itself."""

    training_cost: float
    compute_cost: float | None
    compute_measured: bool
    prep_cost: float | None
    saving_per_request: float
    requests: float | None
    """``None`` when each request saves nothing: it never pays back."""
    months: float | None
    monthly_saving: float | None


def default_price_now(answers: Answers) -> float | None:
    """Catalog price (USD / 1M input tokens) of the model used today."""
    entry = find_any_hosted(answers.use_case.current_model.strip())
    return entry.prices.base_input if entry else None


def default_price_after(answers: Answers) -> float | None:
    """Catalog price (USD / 1M input tokens) of the fine-tuned model, when hosted."""
    cost = answers.cost
    if cost.provider is Provider.LOCAL:
        return None
    model = cost.model.strip() or answers.use_case.current_model.strip()
    entry = find_hosted(cost.provider, model) or find_any_hosted(model)
    return entry.prices.tuned_input if entry else None


def prompt_tokens_now(answers: Answers) -> float | None:
    """Prompt tokens per request today: as answered, else what few-shot measured (Evaluate)."""
    typed = answers.benefit.prompt_tokens_now
    return float(typed) if typed is not None else answers.measured.few_shot_prompt_tokens


def prompt_tokens_after(answers: Answers) -> float | None:
    """Prompt tokens per request once tuned: as answered, else the measured plain prompt."""
    typed = answers.benefit.prompt_tokens_after
    return float(typed) if typed is not None else answers.measured.plain_prompt_tokens


def compute_break_even(answers: Answers) -> BreakEven | None:
    """The break-even figure, when the answers give a one-off cost and a per-request saving."""
    cost, benefit, measured = answers.cost, answers.benefit, answers.measured
    compute_measured = measured.training_cost is not None
    compute = measured.training_cost if compute_measured else cost.compute_estimate
    prep = (
        cost.prep_hours * cost.hourly_rate
        if cost.prep_hours is not None and cost.hourly_rate is not None
        else None
    )
    if compute is None and prep is None:
        return None
    price_now = benefit.price_now if benefit.price_now is not None else default_price_now(answers)
    price_after = (
        benefit.price_after if benefit.price_after is not None else default_price_after(answers)
    )
    tokens_now, tokens_after = prompt_tokens_now(answers), prompt_tokens_after(answers)
    if tokens_now is None or tokens_after is None or price_now is None or price_after is None:
        return None
    training_cost = (compute or 0.0) + (prep or 0.0)
    saving = (tokens_now * price_now - tokens_after * price_after) / 1_000_000
    requests = training_cost / saving if saving > 0 else None
    per_month = benefit.requests_per_month
    months = requests / per_month if requests is not None and per_month else None
    monthly = saving * per_month if per_month else None
    return BreakEven(
        training_cost, compute, compute_measured, prep, saving, requests, months, monthly
    )
