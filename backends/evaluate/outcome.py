"""What an evaluation means for the decision: the measured scores, on the checklist's scale."""

from __future__ import annotations

import dataclasses
from typing import Any

from backends.catalog import PRICES_AS_OF
from backends.decision.answers import Answers
from backends.evaluate import scoring
from backends.evaluate.compare import (
    DEFAULT_METRIC,
    FEW_SHOT,
    RAG,
    TUNED,
    ZERO_SHOT,
    Benefit,
    Comparison,
)


def record_outcome(
    answers: Answers,
    comparison: Comparison,
    *,
    metric: str = DEFAULT_METRIC,
    source: str = "",
) -> Answers:
    """``answers`` with ``measured.baseline_score``/``tuned_score`` (0-100, like target_score).

    The baseline is the best alternative's mean; a figure not measured stays
    as it was. The recommendation is the caller's to recompute.
    """
    result = comparison.benefit or Benefit(metric, None, None, None, None, {}, {}, PRICES_AS_OF)
    measured = answers.measured
    changes: dict[str, Any] = {}
    if result.best_alternative_score is not None:
        changes["baseline_score"] = round(result.best_alternative_score * 100, 2)
    if result.tuned_score is not None:
        changes["tuned_score"] = round(result.tuned_score * 100, 2)
    changes.update(_prompt_tokens(comparison))
    if not changes:
        return answers
    label = scoring.METRIC_LABELS.get(metric, metric)
    changes["source"] = source or f"evaluation ({label}, {len(comparison.rows)} examples)"
    return dataclasses.replace(answers, measured=dataclasses.replace(measured, **changes))


def _prompt_tokens(comparison: Comparison) -> dict[str, Any]:
    """Measured prompt tokens per request: few-shot, RAG, and the plain prompt (tuned, else zero-shot)."""
    methods = comparison.methods
    changes: dict[str, Any] = {}
    few = methods.get(FEW_SHOT)
    if few is not None and few.prompt_tokens is not None:
        changes["few_shot_prompt_tokens"] = round(few.prompt_tokens, 1)
        changes["few_shot_k"] = few.shots
    rag = methods.get(RAG)
    if rag is not None and rag.prompt_tokens is not None:
        changes["rag_prompt_tokens"] = round(rag.prompt_tokens, 1)
    for method in (TUNED, ZERO_SHOT):
        plain = methods.get(method)
        if plain is not None and plain.prompt_tokens is not None:
            changes["plain_prompt_tokens"] = round(plain.prompt_tokens, 1)
            break
    return changes
