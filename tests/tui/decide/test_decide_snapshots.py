"""Every screen of the Decide stage, at 80x24 and 120x40, pixel for pixel.

Regenerate after an intended change with ``pytest tests/tui/decide/test_decide_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from backends.decision import (
    OrgAccess,
    PromptingTried,
    UseCaseCategory,
)
from tests.support.decisions import SIZES, complete_answers, measured_answers, write_decision


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
def test_cost_after_openai_closed_offers_the_others(snap_compare, make_app, size) -> None:
    """On a day after OpenAI's last (the app's fixed clock): the reason and the offers."""
    from datetime import date

    write_decision(complete_answers())
    app = make_app(today=date(2027, 2, 1))
    assert snap_compare(app, terminal_size=size, run_before=at_step(2))


@pytest.mark.parametrize("size", SIZES)
def test_benefit(snap_compare, make_app, size) -> None:
    write_decision(complete_answers())
    assert snap_compare(make_app(), terminal_size=size, run_before=at_step(3))


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
