"""What an evaluation means for the decision: the measured scores, on the checklist's scale."""

from __future__ import annotations

import dataclasses
from typing import Any

from backends.catalog import PRICES_AS_OF
from backends.decision.answers import Answers
from backends.evaluate import scoring
from backends.evaluate.compare import DEFAULT_METRIC, Benefit, Comparison


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
    if not changes:
        return answers
    label = scoring.METRIC_LABELS.get(metric, metric)
    changes["source"] = source or f"evaluation ({label}, {len(comparison.rows)} examples)"
    return dataclasses.replace(answers, measured=dataclasses.replace(measured, **changes))
