"""The whole journey as a new user takes it, keys only, from an empty workspace:

Decide → the shipped sample (F3) → Local with the tiny test model → Launch → the run finishes →
Evaluate → Try it; what each step must show is asserted on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from backends.data.findings import Severity
from backends.data.samples import sample_dataset
from backends.local import backend as local_backend_module
from backends.local import memory
from backends.local.memory import GpuInventory
from backends.runs.values import RunState
from tests.support.checklist_keys import (
    choose,
    fill_alternatives,
    fill_benefit,
    fill_cost,
    fill_use_case,
    type_text,
)
from tests.support.dataset_stage import wait_for_scan
from tests.support.evaluate_stage import wait_for_workers
from tests.support.helpers import PATIENCE_S
from tests.support.screen_text import joined
from tests.support.tiny_model import build_tiny_model
from tui.journey import Position
from tui.screens.backend import BackendLaunchScreen, BackendSettingsScreen, BackendWhereScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.dataset.pick import DatasetPickScreen
from tui.screens.dataset.report import DatasetReportScreen
from tui.screens.decide.recommendation import RecommendationScreen
from tui.screens.evaluate import EvaluateResultsScreen, EvaluateSetupScreen
from tui.screens.evaluate.tryit import TryItScreen
from tui.screens.monitor import MonitorScreen

pytest.importorskip("transformers", reason="the [local] extra is not installed")
pytestmark = pytest.mark.slow

NO_GPU = GpuInventory((), "", "no GPU in tests")


async def until(pilot: Pilot, done: Callable[[], object], what: str) -> None:
    """Wait for ``done()`` with a generous ceiling (never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_S
    while not done():
        assert asyncio.get_running_loop().time() < deadline, f"{what} did not happen"
        await pilot.pause(0.1)


async def replace(pilot: Pilot, selector: str, text: str) -> None:
    """Focus a field, clear it and type ``text`` (as a person would: end, Ctrl+U, keys)."""
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)
    await pilot.pause()


async def next_step(pilot: Pilot) -> None:
    await pilot.press("ctrl+n")
    await pilot.pause()


async def test_the_whole_journey_keys_only(
    make_app, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_backend_module, "visible_gpus", lambda **_: NO_GPU)
    monkeypatch.setattr(memory, "visible_gpus", lambda **_: NO_GPU)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    build_tiny_model(in_tmp / "tiny")
    sample = sample_dataset()
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        # --- Decide -------------------------------------------------------------------
        # TODO(issue 11, item 3): Enter-only navigation (Enter in a field moves to the next,
        # Enter on the last field means Next) once merged; Tab and Ctrl+N until then.
        for fill in (fill_use_case, fill_alternatives, fill_cost, fill_benefit):
            await fill(pilot)
            await next_step(pilot)
        assert isinstance(app.screen, RecommendationScreen)
        assert (in_tmp / ".finetune" / "decision.json").is_file()
        await next_step(pilot)

        # --- Dataset: the shipped sample, figures for the tiny local model --------------
        screen = app.screen
        assert isinstance(screen, DatasetPickScreen)
        await pilot.press("f3")
        await pilot.pause()
        assert screen.query_one("#train-path", Input).value == str(sample.train)
        assert screen.query_one("#validation-path", Input).value == str(sample.validation)
        screen.query_one("#provider").focus()
        await choose(pilot, 3)  # OpenAI → Azure → Together → Local GPU
        await replace(pilot, "#model", "tiny")
        await next_step(pilot)
        assert isinstance(app.screen, DatasetReportScreen)
        await wait_for_scan(pilot)
        report = app.dataset_report
        assert report is not None and report.ok and report.encoding.engine == "transformers"
        # The tiny template cannot render tools: a counted warning, as the worker will skip them.
        skipped = [g for g in report.groups(Severity.WARNING) if g.code == "tools_unrendered"]
        assert skipped and skipped[0].count == 14
        assert "✓Trainable,with" in joined(app)
        await next_step(pilot)

        # --- Backend: Local and the model carried over from the Dataset step ------------
        assert isinstance(app.screen, BackendWhereScreen)
        await until(pilot, lambda: "local" in app.screen.options, "the local check")
        assert app.screen.chosen() == "local"
        await next_step(pilot)
        screen = app.screen
        assert isinstance(screen, BackendSettingsScreen)
        assert screen.query_one("#local-model", Input).value == "tiny"
        for field, value in (
            ("max_steps", "4"),
            ("batch_size", "2"),
            ("max_length", "128"),
            ("lora_r", "4"),
            ("lora_alpha", "8"),
            ("learning_rate", "0.01"),
        ):
            await replace(pilot, f"#local-{field}", value)
        assert screen.problems() == []
        await next_step(pilot)
        screen = app.screen
        assert isinstance(screen, BackendLaunchScreen)
        await until(pilot, lambda: screen.prepared is not None, "the launch checks")
        assert "✓Readytolaunch." in joined(app)
        assert screen.fatal() is None
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")

        # --- Train: the monitor follows the run to its end --------------------------------
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen), "the monitor")
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen)
        await until(
            pilot,
            lambda: monitor.follow.status.state.is_terminal,
            "the end of training",
        )
        assert monitor.follow.status.state is RunState.SUCCEEDED, monitor.folder.log_txt.read_text()
        run_id = monitor.folder.run_id
        # The next refresh shows the final figures.
        await until(pilot, lambda: "succeeded" in joined(app).lower(), "the final figures")
        await pilot.press("e")

        # --- Evaluate: the run's own validation file, the tuned run, local models ---------
        await until(pilot, lambda: isinstance(app.screen, EvaluateSetupScreen), "Evaluate")
        screen = app.screen
        await wait_for_workers(pilot, "eval-availability")
        assert screen.query_one("#eval-source").value == "validation"
        assert Path(screen.query_one("#eval-path", Input).value) == sample.validation
        assert screen.query_one("#eval-tuned", Input).value == run_id
        assert screen.query_one("#eval-provider").value == "local"
        assert screen.query_one("#eval-model", Input).value == "tiny"
        await replace(pilot, "#eval-limit", "2")
        await replace(pilot, "#eval-few", "1")
        await replace(pilot, "#eval-rag", "1")
        assert screen.problems() == [], screen.problems()
        assert "✓Readytorun." in joined(app)
        await next_step(pilot)
        assert isinstance(app.screen, EvaluateResultsScreen)
        await wait_for_workers(pilot, "evaluate")
        table = app.screen.query_one("#eval-table", DataTable)
        assert [str(key.value) for key in table.rows] == ["zero-shot", "few-shot", "rag", "tuned"]
        assert app.answers.measured.tuned_score is not None

        # --- Try it: a local model says it is loading, then both answer -------------------
        await next_step(pilot)
        screen = app.screen
        assert isinstance(screen, TryItScreen)
        await wait_for_workers(pilot, "tryit-models")
        screen.query_one("#tryit-prompt").focus()
        await type_text(pilot, "what colour is the sky ?")
        await pilot.press("enter")
        notes: set[str] = set()

        def answered() -> bool:
            for pane in screen.panes:
                if pane.transcript.turns:
                    notes.add(pane.transcript.turns[-1].note)
            return all(p.transcript.turns and not p.busy for p in screen.panes)

        await until(pilot, answered, "both answers")
        assert any(note.startswith("Loading ") for note in notes), notes
        for pane in screen.panes:
            turn = pane.transcript.turns[-1]
            assert not turn.error, turn.error
            assert turn.answer.strip() or turn.note.startswith("(empty answer: "), turn
    assert app.position == Position(4, 2)
