"""The optional LLM judge in the Evaluate stage: priced live in the Setup, a Judge column after."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.support.evaluate_stage import (
    hint,
    open_setup,
    run_results,
    until_priced,
)
from tui.screens.evaluate import EvaluateResultsScreen, EvaluateSetupScreen
from tui.screens.evaluate.example import ExampleScreen
from tui.screens.evaluate.figures import JUDGE_OFF

JUDGE_MODEL = "gpt-4.1-mini"


async def type_judge(pilot: Pilot, model: str) -> None:
    field = pilot.app.screen.query_one("#eval-judge", Input)
    field.value = model
    await pilot.pause()


async def test_the_judge_is_off_then_priced_live(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_setup(pilot)
        screen = app.screen
        assert isinstance(screen, EvaluateSetupScreen)
        assert screen.query_one("#eval-judge", Input).value == ""
        assert hint(pilot) == JUDGE_OFF
        await type_judge(pilot, JUDGE_MODEL)
        priced = await until_priced(pilot)
        # 6 examples × 4 methods (zero-shot, few-shot, RAG, tuned)
        assert priced.startswith("24 judge requests to gpt-4.1-mini on OpenAI: ")
        assert "(prices as of 2025-06)" in priced and "$" in priced
        # Fewer methods, fewer requests: few-shot k = 0.
        screen.query_one("#eval-few", Input).value = "0"
        await pilot.pause()
        assert (await until_priced(pilot)).startswith("18 judge requests")
        # A model the catalog has no price for.
        await type_judge(pilot, "my-own-judge")
        unknown = await until_priced(pilot)
        assert "price unknown (no catalog price for my-own-judge on OpenAI)" in unknown
        # Blank is off again; nothing was sent to any model while pricing.
        await type_judge(pilot, "")
        assert hint(pilot) == JUDGE_OFF
        assert stage_emulator.chat_calls == []
        screen.store()
        assert app.eval_choice.judge == ""


async def test_a_judged_run_shows_the_judge(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await run_results(pilot, judge=JUDGE_MODEL)
        screen = app.screen
        assert isinstance(screen, EvaluateResultsScreen)
        table = screen.query_one("#eval-table", DataTable)
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[:6] == ["Method", "N", "EM", "F1", "ROUGE-L", "Judge"]
        assert table.get_row("tuned")[5].startswith("5.00 ")
        assert table.get_row("zero-shot")[5].startswith("3.00 ")
        benefit = str(screen.query_one("#eval-benefit", Static).render())
        assert "Judge: gpt-4.1-mini, rubric v1, 24 of 24 answers graded (1-5)." in benefit
        assert "estimated before running: $" in benefit
        judge_calls = [c for c in stage_emulator.chat_calls if c["model"] == JUDGE_MODEL]
        assert len(judge_calls) == 24
        # The decision still records the token-F1 scores, not the judge's.
        assert app.answers.measured.tuned_score == 100.0
        # One example shows each method's grade.
        screen.query_one("#eval-results").active = "tab-examples"
        await pilot.pause()
        screen.query_one("#eval-examples", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExampleScreen)
        headings = [str(s.render()) for s in app.screen.query(".example-heading")]
        assert any(h.startswith("tuned · F1 1.00 · judge 5/5") for h in headings)


async def test_no_judge_no_judge_column(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await run_results(pilot)
        table = app.screen.query_one("#eval-table", DataTable)
        assert "Judge" not in [str(column.label) for column in table.columns.values()]
        assert "Judge" not in str(app.screen.query_one("#eval-benefit", Static).render())


async def test_a_billed_judge_run_is_confirmed_with_its_price(
    make_app, workdir, stage_emulator
) -> None:
    from tui.screens.confirm import ConfirmScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_setup(pilot, judge=JUDGE_MODEL)
        priced = await until_priced(pilot)
        screen = app.screen
        # The price is in view at 80x24, under "Ready", not only in the form's hint below.
        checks = str(screen.query_one("#eval-checks", Static).render())
        assert checks.startswith("✓ Ready to run.") and f"LLM judge (billed): {priced}" in checks
        assert screen.query_one("#eval-checks").region.bottom <= 24
        await pilot.press("ctrl+n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert priced in dialog.body and "$" in dialog.body
        await pilot.press("n")  # No: nothing is sent, Setup stays
        await pilot.pause()
        assert app.screen is screen and stage_emulator.chat_calls == []
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, EvaluateResultsScreen)
