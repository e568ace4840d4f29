"""What an evaluation means for the decision: the measured scores, on the checklist's scale."""

from __future__ import annotations

import dataclasses
from typing import Any

from backends.decision.answers import Answers
from backends.evaluate import scoring
from backends.evaluate.compare import ALTERNATIVES, FEW_SHOT, RAG, TUNED, ZERO_SHOT, Comparison

ACCEPTABLE_GRADE = 4
"""A judge grade of 4 or 5 (of 5) counts as an acceptable answer."""
JUDGED = "acceptable = judge grade 4 or 5"
EXACT = "acceptable = exact match"


def acceptable_shares(comparison: Comparison) -> tuple[dict[str, float], str]:
    """Per method, the share (0-1) of acceptable answers, and what counted as acceptable.

    This is the scale of the quality goal the person typed: with a judge, an
    answer graded 4 or 5; without one, an exact match. Token F1 and ROUGE-L
    stay supporting metrics under their own names.
    """
    grades: dict[str, list[int]] = {}
    for row in comparison.rows:
        for method, verdict in row.judgements.items():
            if verdict.score is not None:
                grades.setdefault(method, []).append(verdict.score)
    if comparison.judge is not None and grades:
        shares = {
            method: sum(grade >= ACCEPTABLE_GRADE for grade in found) / len(found)
            for method, found in grades.items()
        }
        return shares, JUDGED
    shares = {}
    for method, result in comparison.methods.items():
        mean = result.mean(scoring.EXACT_MATCH)
        if mean is not None:
            shares[method] = mean
    return shares, EXACT


def record_outcome(
    answers: Answers,
    comparison: Comparison,
    *,
    source: str = "",
) -> Answers:
    """``answers`` with ``measured.baseline_score``/``tuned_score``: shares of acceptable answers.

    On the checklist's scale (0-100, like target_score). The baseline is the
    best alternative's share; a figure not measured stays as it was. The
    recommendation is the caller's to recompute.
    """
    shares, measure = acceptable_shares(comparison)
    alternatives = [share for method, share in shares.items() if method in ALTERNATIVES]
    changes: dict[str, Any] = {}
    if alternatives:
        changes["baseline_score"] = round(max(alternatives) * 100, 2)
    if TUNED in shares:
        changes["tuned_score"] = round(shares[TUNED] * 100, 2)
    if "baseline_score" in changes or "tuned_score" in changes:
        changes["quality_measure"] = measure
    changes.update(_prompt_tokens(comparison))
    if not changes:
        return answers
    changes["source"] = source or f"evaluation ({measure}, {len(comparison.rows)} examples)"
    return dataclasses.replace(answers, measured=dataclasses.replace(answers.measured, **changes))


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
