"""The Train step: the workspace's runs in the journey, and the run it hands to Evaluate."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from backends.runs import RunStore
from tests.support.runs import all_kinds, hosted_succeeded, local_running
from tui.journey import Position
from tui.screens.evaluate import EvaluateSetupScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.train import TrainRunsScreen
from tui.widgets.run_list import RunList

TRAIN = Position(3, 0)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def at_train(app) -> None:
    app.furthest = TRAIN
    app.go_to(TRAIN)


def summary(app) -> str:
    return str(app.screen.query_one("#train-evaluate", Static).render())


async def test_the_highlighted_finished_run_goes_on_to_evaluate(
    make_app, app_store: RunStore
) -> None:
    runs = all_kinds(app_store)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        at_train(app)
        await pilot.pause()
        assert isinstance(app.screen, TrainRunsScreen)
        table = app.screen.query_one(RunList)
        order = [row.run_id for row in table.run_rows]
        assert len(order) == 3
        table.move_cursor(row=order.index(runs["running"].run_id))
        await pilot.pause()
        assert "is running: it has no trained model to evaluate yet" in summary(app)
        hosted = runs["hosted"].run_id
        table.move_cursor(row=order.index(hosted))
        await pilot.pause()
        assert f"Evaluate will measure {hosted} (ft:" in summary(app)
        await pilot.press("enter")  # watch it
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TrainRunsScreen)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, EvaluateSetupScreen)
        assert app.eval_choice.tuned == hosted


async def test_an_unfinished_run_is_not_handed_on(make_app, app_store: RunStore) -> None:
    local_running(app_store)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        at_train(app)
        await pilot.pause()
        await pilot.press("ctrl+n")  # never blocked: the baselines need no training
        await pilot.pause()
        assert isinstance(app.screen, EvaluateSetupScreen)
        assert app.eval_choice.tuned == ""


async def test_no_runs_says_how_to_start_one(make_app, app_store: RunStore) -> None:
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        at_train(app)
        await pilot.pause()
        assert "No runs yet: launch one from Backend › Launch" in summary(app)
        await pilot.press("escape")  # back to the Backend stage
        await pilot.pause()
        assert app.position == Position(2, 2)


async def test_a_chosen_run_stays_highlighted(make_app, app_store: RunStore) -> None:
    runs = all_kinds(app_store)
    app = make_app(gpu_probe=list)
    app.eval_choice.tuned = runs["hosted"].run_id
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        at_train(app)
        await pilot.pause()
        assert app.screen.query_one(RunList).selected_row().run_id == runs["hosted"].run_id


def on_train(run_id: str | None = None):
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        at_train(pilot.app)
        await pilot.pause()
        if run_id is not None:
            pilot.app.screen.query_one(RunList).select(run_id)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_train_step(snap_compare, make_app, app_store: RunStore, size) -> None:
    hosted = hosted_succeeded(app_store)
    local_running(app_store)
    app = make_app(gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=on_train(hosted.run_id))
