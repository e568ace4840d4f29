"""The Evaluate stage driven by keys against the emulator, through the real openai SDK."""

from __future__ import annotations

import orjson
from textual.widgets import DataTable, Static

from tests.support.evaluate_stage import TUNED, open_setup, run_results, wait_for_workers
from tests.support.helpers import until
from tui.journey import Position
from tui.screens.evaluate import EvaluateResultsScreen, EvaluateSetupScreen
from tui.screens.evaluate.example import ExampleScreen


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_setup_defaults_and_missing_key(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_setup(pilot)
        screen = app.screen
        assert isinstance(screen, EvaluateSetupScreen)
        assert screen.query_one("#eval-path").value == "valid.jsonl"
        assert screen.query_one("#eval-train").value == "train.jsonl"
        assert screen.query_one("#eval-model").value == "gpt-4o-mini"
        assert any("OPENAI_API_KEY" in p for p in screen.problems())
        assert screen.query_one("#next-button").disabled
        assert "OPENAI_API_KEY" in text(screen, "#eval-checks")


async def test_run_end_to_end_records_the_outcome(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_setup(pilot)
        assert app.screen.problems() == []
        await pilot.press("ctrl+n")
        await wait_for_workers(pilot, "evaluate")
        screen = app.screen
        assert isinstance(screen, EvaluateResultsScreen)
        table = screen.query_one("#eval-table", DataTable)
        assert [str(k.value) for k in table.rows] == ["zero-shot", "few-shot", "rag", "tuned"]
        assert "Quality gain (token F1)" in text(screen, "#eval-benefit")
        assert "Recorded in the decision" in text(screen, "#eval-benefit")
        calls = {c["model"] for c in stage_emulator.chat_calls}
        assert calls == {"gpt-4o-mini", TUNED}
        # The outcome is in the decision: JSON, Markdown, and the recommendation's reasons.
        record = orjson.loads((workdir / ".finetune" / "decision.json").read_bytes())
        measured = record["answers"]["measured"]
        # On the quality goal's scale: the share of acceptable answers (no judge: exact match).
        assert measured["tuned_score"] == 100.0
        assert measured["baseline_score"] == 0.0
        assert measured["quality_measure"] == "acceptable = exact match"
        markdown = (workdir / ".finetune" / "decision.md").read_text()
        assert "## Outcome (measured)" in markdown
        assert (
            "Measured (acceptable = exact match): the tuned model gives 100% acceptable answers"
            in markdown
        )
        # The per-example view opens on Enter and closes on Esc.
        screen.query_one("#eval-results").active = "tab-examples"
        await pilot.pause()
        screen.query_one("#eval-examples", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExampleScreen)
        await pilot.press("escape")
        await pilot.pause()
        # Next goes on to Try it, then to the recommendation, recomputed.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.position == Position(4, 2)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.position == Position(0, 4)


async def test_cancel_keeps_partial_results(make_app, workdir, stage_emulator) -> None:
    stage_emulator.chat_delay_s = 0.05
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_setup(pilot, limit=12)
        await pilot.press("ctrl+n")
        screen = app.screen
        await until(pilot, lambda: len(stage_emulator.chat_calls) >= 4, "the first answers")
        await pilot.press("escape")
        await wait_for_workers(pilot, "evaluate")
        assert app.screen is screen
        comparison = screen.comparison
        assert comparison is not None and comparison.cancelled
        answered = sum(r.answered for r in comparison.methods.values())
        assert 0 < answered < 48
        assert "Stopped: partial results" in text(screen, "#eval-benefit")
        assert screen.query_one("#eval-table", DataTable).row_count >= 1
        # Esc again goes back to the setup.
        await pilot.press("escape")
        await pilot.pause()
        assert app.position == Position(4, 0)


async def test_a_bad_file_is_explained(make_app, workdir, stage_emulator) -> None:
    (workdir / "valid.jsonl").write_text("not json\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await run_results(pilot)
        screen = app.screen
        assert "Could not evaluate" in text(screen, "#eval-what")
        assert screen.query_one("#next-button").disabled


async def test_the_current_fine_tune_is_a_row_beside_the_tuned_model(
    make_app, workdir, stage_emulator
) -> None:
    """Setup's "Current fine-tune": its own row on the same prompts, priced per 1,000 requests."""
    from tests.support.evaluate_stage import CURRENT

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_setup(pilot, current=CURRENT)
        assert app.screen.query_one("#eval-current").value == CURRENT
        await pilot.press("ctrl+n")
        await wait_for_workers(pilot, "evaluate")
        screen = app.screen
        assert isinstance(screen, EvaluateResultsScreen)
        table = screen.query_one("#eval-table", DataTable)
        keys = [str(k.value) for k in table.rows]
        assert keys == ["zero-shot", "few-shot", "rag", "current", "tuned"]
        assert "current fine-tune" in str(table.get_row("current")[0])
        benefit = text(screen, "#eval-benefit")
        assert "Against the current fine-tune (token F1): tuned 1.000 vs current 1.000" in benefit
        assert "current fine-tune $" in benefit  # its cost per 1,000 requests
        asked = [c["model"] for c in stage_emulator.chat_calls]
        assert asked.count(CURRENT) == asked.count(TUNED) == 6
        # The checklist's baseline stays the best alternative, never the current fine-tune.
        record = orjson.loads((workdir / ".finetune" / "decision.json").read_bytes())
        assert record["answers"]["measured"]["baseline_score"] == 0.0


async def test_the_runs_validation_file_is_the_default_held_out_data(make_app, workdir) -> None:
    """A run with a validation file is evaluated on it; a run trained on the whole training file
    is said, before "Ready", to leave nothing held out of a split of it."""
    from backends.runs import RunStore
    from backends.runs.values import RunSpec
    from backends.workspace import Workspace

    (workdir / "heldout.jsonl").write_bytes((workdir / "valid.jsonl").read_bytes())
    store = RunStore.of(Workspace.at(workdir / ".finetune"))
    train = str(workdir / "train.jsonl")
    validated = store.create(
        RunSpec(
            backend="local", model="m", dataset=train, validation=str(workdir / "heldout.jsonl")
        )
    )
    whole = store.create(RunSpec(backend="local", model="m", dataset=train))
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_setup(pilot, tuned=validated.run_id)
        screen = app.screen
        assert screen.query_one("#eval-source").value == "validation"
        assert screen.query_one("#eval-path").value == str(workdir / "heldout.jsonl")
        assert not any("training file" in p for p in screen.problems())

    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        app.dataset_choice.validation = ""
        await open_setup(pilot, tuned=whole.run_id, validation="")
        screen = app.screen
        assert screen.query_one("#eval-source").value == "split"
        checks = text(screen, "#eval-checks")
        assert (
            f"Every example of a split of {train} is in the tuned model's training file" in checks
        )
        assert f"run {whole.run_id}" in checks and "held-out file" in checks
        assert "Ready" not in checks


async def test_each_answers_label_fits_on_one_line_at_80_columns(
    make_app, workdir, stage_emulator
) -> None:
    """Four answers side by side would wrap their labels at 80x24: they stack (#11 item 20)."""
    from tests.support.evaluate_stage import CURRENT
    from tests.support.screen_text import screen_rows

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await run_results(pilot, current=CURRENT)
        app.screen.query_one("#eval-results").active = "tab-examples"
        await pilot.pause()
        app.screen.query_one("#eval-examples", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()
        example = app.screen
        assert isinstance(example, ExampleScreen)
        headings = list(example.query("#example-answers .example-heading").results(Static))
        assert len(headings) == 5
        for heading in headings:
            example.query_one("#example-scroll").scroll_to_widget(heading, animate=False)
            await pilot.pause()
            label = str(heading.render())
            assert any(label in row for row in screen_rows(app)), label
