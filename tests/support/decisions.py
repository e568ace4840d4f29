"""Answers and a saved decision for the stages after Decide; the snapshot sizes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from backends.catalog import Provider
from backends.decision import (
    Answers,
    OrgAccess,
    PromptingTried,
    Reuse,
    UseCaseCategory,
    recommend,
    save_decision,
)
from backends.workspace import Workspace
from tests.support.clock import TODAY

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def complete_answers() -> Answers:
    a = Answers()
    a.use_case.category = UseCaseCategory.EFFICIENCY
    a.use_case.description = "Our support prompt carries 2,500 tokens of rules and examples."
    a.use_case.current_model = "gpt-4o-mini"
    a.use_case.target_score = 90
    a.alternatives.prompting = PromptingTried.FEW_SHOT
    a.alternatives.prompting_score = 85
    a.alternatives.prompting_notes = "Right tone; still misses refund rules."
    a.cost.provider = Provider.OPENAI
    a.cost.org_access = OrgAccess.YES
    a.cost.examples = 200
    a.cost.prep_hours = 10
    a.cost.hourly_rate = 80
    a.cost.compute_estimate = 20
    a.benefit.expected_score = 95
    a.benefit.prompt_tokens_now = 2500
    a.benefit.prompt_tokens_after = 300
    a.benefit.requests_per_month = 1_000_000
    a.benefit.reuse = Reuse.SHARED
    return a


def write_decision(answers: Answers) -> None:
    save_decision(
        Workspace.at(None),
        answers,
        recommend(answers, today=TODAY),
        now=datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc),
    )


def measured_answers() -> Answers:
    """Prompt tokens left blank: the Evaluate stage measured them."""
    a = complete_answers()
    a.benefit.prompt_tokens_now = None
    a.benefit.prompt_tokens_after = None
    a.measured.baseline_score = 61.5
    a.measured.few_shot_prompt_tokens = 2412.3
    a.measured.few_shot_k = 3
    a.measured.rag_prompt_tokens = 1980.0
    a.measured.plain_prompt_tokens = 296.0
    return a
