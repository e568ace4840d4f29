"""Every screen of the Decide stage, at 80x24 and 120x40, pixel for pixel.

Regenerate after an intended change with ``pytest tests/test_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from textual.pilot import Pilot

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
from tests.conftest import TODAY

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


def at_step(step: int):
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        for _ in range(step):
            await pilot.press("ctrl+n")
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_use_case_empty(snap_compare, make_app, size) -> None:
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_use_case_filled(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(0))


@pytest.mark.parametrize("size", SIZES)
def test_alternatives(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(1))


@pytest.mark.parametrize("size", SIZES)
def test_cost(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(2))


@pytest.mark.parametrize("size", SIZES)
def test_cost_model_unavailable(snap_compare, make_app, size) -> None:
    answers = complete_answers()
    answers.cost.org_access = OrgAccess.NO
    write_decision(answers)
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(2))


@pytest.mark.parametrize("size", SIZES)
def test_benefit(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(3))


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


@pytest.mark.parametrize("size", SIZES)
def test_benefit_measured_tokens(snap_compare, make_app, size) -> None:
    write_decision(measured_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(3))


@pytest.mark.parametrize("size", SIZES)
def test_recommendation_fine_tune(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(4))


@pytest.mark.parametrize("size", SIZES)
def test_recommendation_try_prompting(snap_compare, make_app, size) -> None:
    answers = complete_answers()
    answers.use_case.category = UseCaseCategory.STYLE
    answers.alternatives.prompting = PromptingTried.ZERO_SHOT
    answers.cost.examples = 30
    write_decision(answers)
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(4))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, make_app, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, press=["f1"])


@pytest.mark.parametrize("size", SIZES)
def test_catalog(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())

    async def run_before(pilot: Pilot) -> None:
        await at_step(2)(pilot)
        await pilot.press("f2")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_corrupt_decision_message(snap_compare, make_app, size) -> None:
    Path(".finetune").mkdir()
    Path(".finetune/decision.json").write_text('{"schema_version": 1,\n  "answers": {\n')
    assert snap_compare(make_app(), terminal_size=size)


def test_no_color(snap_compare, make_app, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=at_step(4))
