"""The checklist driven by keys only, as a person at a terminal would."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from textual.widgets import Button, Input, Select, Static, TextArea

from backends.decision import PromptingTried, UseCaseCategory
from tests.support.checklist_keys import (
    fill_alternatives,
    fill_benefit,
    fill_cost,
    fill_use_case,
    type_text,
)
from tests.support.helpers import palette_run, until
from tui.screens.catalog import CatalogScreen
from tui.screens.decide import (
    AlternativesScreen,
    BenefitScreen,
    CostScreen,
    RecommendationScreen,
    UseCaseScreen,
)
from tui.screens.help import HelpScreen
from tui.screens.message import MessageScreen
from tui.widgets.form import Field, NumberInput


def saved(workspace: Path = Path(".finetune")) -> dict:
    return orjson.loads((workspace / "decision.json").read_bytes())


async def test_complete_the_checklist_by_keys_only(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UseCaseScreen)
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, AlternativesScreen)
        await fill_alternatives(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, CostScreen)
        await fill_cost(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, BenefitScreen)
        await fill_benefit(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        assert "Fine-tune" in str(app.screen.query_one("#verdict").render())

    data = saved()
    answers = data["answers"]
    assert answers["use_case"] == {
        "category": "efficiency",
        "description": "Long prompt.",
        "current_model": "gpt-4o-mini",
        "target_score": 90.0,
    }
    assert answers["alternatives"]["prompting"] == "few_shot"
    assert answers["cost"]["org_access"] == "yes"
    assert answers["cost"]["examples"] == 200
    assert answers["benefit"]["requests_per_month"] == 1_000_000
    assert data["recommendation"]["verdict"] == "fine_tune"
    assert data["recommendation"]["break_even"]["requests_to_pay_back"] == 2877193
    assert "## Recommendation: Fine-tune" in Path(".finetune/decision.md").read_text()


async def test_next_is_disabled_until_the_step_is_answered(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("next", ()) is None
        assert screen.query_one("#next-button", Button).disabled
        await pilot.press("ctrl+n")
        assert app.screen is screen
        await fill_use_case(pilot)
        assert screen.check_action("next", ()) is True
        assert not screen.query_one("#next-button", Button).disabled


async def test_an_out_of_range_number_blocks_next_with_a_reason(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await type_text(pilot, "0")  # target score 900
        screen = app.screen
        assert screen.check_action("next", ()) is None
        assert "Quality you need: enter a number from 0 to 100" in str(
            screen.query_one("#nav-message").render()
        )
        await pilot.press("ctrl+n")
        assert app.screen is screen
        await pilot.press("backspace")
        assert screen.check_action("next", ()) is True


async def test_back_and_next_keep_answers(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        await fill_alternatives(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, UseCaseScreen)
        assert app.screen.query_one("#category", Select).value is UseCaseCategory.EFFICIENCY
        assert app.screen.query_one("#description", TextArea).text.startswith("Long prompt")
        assert app.screen.query_one("#target-score", NumberInput).value == "90"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AlternativesScreen)
        assert app.screen.query_one("#prompting", Select).value is PromptingTried.FEW_SHOT
        assert app.screen.query_one("#prompting-notes", Input).value == "no refunds"


async def test_escape_on_the_first_step_goes_nowhere(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("back", ()) is None
        await pilot.press("escape")
        assert app.screen is screen


async def test_reopening_restores_the_answers(make_app) -> None:
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        await fill_alternatives(pilot)
        await pilot.press("ctrl+q")
    assert saved()["answers"]["alternatives"]["prompting_score"] == 85.0

    second = make_app()
    async with second.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = second.screen
        assert screen.query_one("#current-model", Input).value == "gpt-4o-mini"
        assert [n.message for n in second._notifications] == [
            "Answers restored from .finetune/decision.json."
        ]
        marked = [str(label.render()) for label in screen.query(".field-label")]
        assert [label.startswith("▸") for label in marked].count(True) == 1, marked
        assert marked[0].startswith("▸"), "the first field has focus and shows it on restart"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert second.screen.query_one("#prompting-score", NumberInput).value == "85"


async def test_quit_saves_what_is_on_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab")
        await type_text(pilot, "half-written thought")
        await pilot.press("ctrl+q")
    assert saved()["answers"]["use_case"]["description"] == "half-written thought"


async def test_a_corrupt_file_is_explained_backed_up_and_never_overwritten_silently(
    make_app,
) -> None:
    workspace = Path(".finetune")
    workspace.mkdir()
    (workspace / "decision.json").write_bytes(b'{"schema_version": 1, "answers": ')
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        assert "not valid JSON" in app.screen.body
        assert "decision.json.bad" in app.screen.body
        await pilot.press("enter")
        assert isinstance(app.screen, UseCaseScreen)
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
    assert (workspace / "decision.json.bad").read_bytes() == b'{"schema_version": 1, "answers": '
    assert saved()["answers"]["use_case"]["category"] == "efficiency"


async def test_help_opens_with_f1_and_question_mark_but_not_while_typing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, UseCaseScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.press("tab", "tab")  # into "Model used today"
        await pilot.press("question_mark")
        assert isinstance(app.screen, UseCaseScreen)
        assert app.screen.query_one("#current-model", Input).value == "?"


async def test_catalog_picks_a_model_into_the_cost_step(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)
        assert "fine-tunable on OpenAI" in str(app.screen.query_one("#tunability").render())
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, CatalogScreen)
        await pilot.press("enter")  # the cursor starts on the model used today
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)
        assert app.screen.query_one("#model", Input).value == "gpt-4o-mini-2024-07-18"
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("up", "enter")
        await pilot.pause()
        assert app.screen.query_one("#model", Input).value == "gpt-4o-2024-08-06"


async def test_unavailable_model_is_flagged_live_on_the_cost_step(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        await pilot.press("tab")
        await type_text(pilot, "gpt-5-pro")
        tunability = app.screen.query_one("#tunability")
        assert tunability.has_class("-blocked")
        assert "not fine-tunable on OpenAI" in str(tunability.render())


async def test_recommendation_digits_jump_back_to_a_step(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        assert app.screen.check_action("next", ()) is True  # on to the Dataset step
        await pilot.press("3")
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)


async def test_command_palette_jumps_to_a_visited_step(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        await palette_run(pilot, "Go to Decide 1", "Decide 1")
        assert isinstance(app.screen, UseCaseScreen)


async def test_workspace_option_moves_the_decision(make_app) -> None:
    app = make_app("elsewhere/ws")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
    assert saved(Path("elsewhere/ws"))["answers"]["use_case"]["current_model"] == "gpt-4o-mini"
    assert not Path(".finetune").exists()


async def test_an_unwritable_workspace_is_reported_not_a_crash(make_app) -> None:
    Path("blocked").write_text("a file where the workspace folder should be")
    app = make_app("blocked")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AlternativesScreen)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Could not save the decision to blocked") for m in messages)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_color_terminals_get_a_usable_app(make_app, monkeypatch, size) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert app.no_color
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, AlternativesScreen)


async def test_keymap_file_remaps_keys_by_binding_id(make_app, monkeypatch, tmp_path) -> None:
    config = tmp_path / "config"
    (config / "finetune-tui").mkdir(parents=True)
    (config / "finetune-tui" / "keymap.toml").write_text('next = "f9"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, UseCaseScreen)
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, AlternativesScreen)


async def test_a_broken_keymap_is_named_and_ignored(make_app, monkeypatch, tmp_path) -> None:
    config = tmp_path / "config"
    (config / "finetune-tui").mkdir(parents=True)
    (config / "finetune-tui" / "keymap.toml").write_text('nxt = "f9"\nback = 3\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        (message,) = [n.message for n in app._notifications]
        assert "keymap.toml: unknown binding id 'nxt'; back must be a key string" in message
        assert "Known ids: back, cancel-run, catalog" in message


async def test_alternatives_show_what_evaluate_measured(make_app) -> None:
    from tests.support.decisions import complete_answers, write_decision

    answers = complete_answers()
    answers.measured.baseline_score = 81.5
    answers.measured.tuned_score = 92.0
    write_decision(answers)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AlternativesScreen)
        text = str(app.screen.query_one("#alternatives-measured").render())
        assert "best alternative 81.5, tuned model 92" in text


async def test_benefit_uses_the_measured_prompt_tokens_when_left_blank(make_app) -> None:
    from tests.support.decisions import measured_answers, write_decision

    write_decision(measured_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert isinstance(app.screen, BenefitScreen)
        now = app.screen.query_one("#tokens-now", NumberInput)
        assert now.value == "" and now.placeholder == "2,412 (measured)"
        hint = str(app.screen.query_one("#tokens-now-hint", Static).render())
        assert "few-shot k=3 needs 2,412 tokens per request, RAG 1,980" in hint
        figures = str(app.screen.query_one("#figures", Static).render())
        # (2,412.3 x $0.15 - 296 x $0.30) / 1M = $0.000273; one-off cost $820.
        assert "Saving / request  $0.000273" in figures
        assert "Break-even        3,003,168 requests" in figures
        assert "+33.5 points over the measured best alternative (61.5%)" in figures
        # A typed figure replaces the measured one.
        now.value = "5000"
        await pilot.pause()
        figures = str(app.screen.query_one("#figures", Static).render())
        assert "Saving / request  $0.000661" in figures


async def test_enter_walks_the_fields_and_means_next_on_the_last_one(make_app) -> None:
    """Enter never lands on Back: field to field, then Next (issue #11 item 3)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlternativesScreen)
        assert screen.focused is screen.query_one("#prompting", Select)
        await fill_alternatives(pilot)  # ends in the prompting notes
        await pilot.press("enter")
        assert screen.focused is screen.query_one("#rag-tried", Select)
        await pilot.press("tab")  # into the RAG score
        await pilot.press("enter")
        assert screen.focused is screen.query_one("#rag-notes", Input)
        await pilot.press("enter")  # the last field: Next, never Back
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)
        assert app.screen.focused is not None
        assert app.screen.focused.id != "back-button"


async def test_the_focused_field_is_marked_in_plain_text_and_only_while_focused(make_app) -> None:
    """▸ before the focused field's label: no colour needed, cleared when focus leaves (#11 item 5)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()

        def marked() -> list[str]:
            return [
                str(label.render()).strip()
                for label in app.screen.query(".field-label")
                if str(label.render()).startswith("▸")
            ]

        assert len(marked()) == 1 and "improve" in marked()[0].lower()
        await pilot.press("tab")
        await pilot.pause()
        assert len(marked()) == 1 and "improve" not in marked()[0].lower()


async def test_the_field_being_typed_in_stays_in_view_above_the_live_figures(make_app) -> None:
    """At 80x24 the figures grow as one types; the field and its hint stay seen (#11 item 20)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await pilot.press("ctrl+n")
        await fill_alternatives(pilot)
        await pilot.press("ctrl+n")
        await fill_cost(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BenefitScreen)
        form = screen.query_one("#form")
        for text in ["95", "2500", "300", "1000000", "0.15", "0.3"]:
            await type_text(pilot, text)
            await pilot.pause()
            focused = screen.focused
            assert isinstance(focused, NumberInput)
            field = focused.parent.parent if focused.parent else None
            assert isinstance(field, Field)
            assert form.region.contains_region(field.region), (focused.id, field.region)
            assert not field.region.overlaps(screen.query_one("#figures").region)
            await pilot.press("tab")
        assert "Break-even" in str(screen.query_one("#figures", Static).render())


async def test_a_toast_covers_no_hint_no_nav_row_and_no_footer(make_app) -> None:
    """Toasts sit top right, under the header: help text stays readable (#11 item 20)."""
    from tests.support.screen_text import screen_rows

    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await fill_use_case(pilot)
        await palette_run(pilot, "Save decision")

        def toast_shown() -> bool:
            toasts = app.screen.query("Toast")
            return (
                bool(toasts)
                and toasts.first().region.height > 0
                and any("Saved to .finetune/decision.md." in row for row in screen_rows(app))
            )

        await until(pilot, toast_shown, "the toast on screen")
        screen = app.screen
        toast = screen.query_one("Toast")
        rows = screen_rows(app)
        covered = [
            widget
            for widget in [*screen.query(".field-hint"), screen.query_one("#nav")]
            if widget.region.overlaps(toast.region)
        ]
        assert covered == []
        assert toast.region.bottom < screen.query_one("#step-title").region.y
        assert any("Share of answers that must be acceptable, 0-100." in row for row in rows)
        assert any("‹ Back" in row and "Next ›" in row for row in rows)
        assert any(row.lstrip().startswith("^n Next") and "^p palette" in row for row in rows)
