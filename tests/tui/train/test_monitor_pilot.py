"""The monitor and the runs list driven by keys, as a person at a terminal would."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Log

from backends.runs import RunStore
from backends.runs.values import RunState
from tests.support.helpers import until, wait_for
from tests.support.runs import (
    all_kinds,
    hosted_succeeded,
    local_failed,
    local_overfitting,
    local_points,
    local_running,
)
from tui.app import FinetuneApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.runs import RunsScreen
from tui.widgets.run_stats import RunStats


def stats_text(app: FinetuneApp) -> str:
    widget = app.screen.query_one(RunStats)
    return "\n".join(line.plain for line in widget.lines(widget.size.width))


async def test_new_points_appear_after_the_timer(make_app, app_store: RunStore) -> None:
    folder = local_running(app_store)
    app = make_app(watch=folder, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        assert screen.follow.history.count == 600
        assert "600 / 1,500" in stats_text(app)
        draws = screen.plot.draws
        folder.append_metrics(local_points(150, start=601))
        folder.log("step 750 done")
        await until(
            pilot,
            lambda: (
                "step 750 done" in "\n".join(app.screen.query_one(Log).lines)
                and "750 / 1,500" in stats_text(app)
                and screen.plot.draws > draws
            ),
            "the monitor showing the new points and log line",
        )
        assert screen.follow.history.count == 750
        assert "750 / 1,500" in stats_text(app)
        assert screen.plot.draws > draws
        assert "step 750 done" in "\n".join(app.screen.query_one(Log).lines)


async def test_toggles_change_the_plot(make_app, app_store: RunStore) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        plot = app.screen.plot
        seen = [plot.options]
        for key in ("s", "l", "v", "z"):
            draws = plot.draws
            await pilot.press(key)
            await pilot.pause()
            assert plot.options != seen[-1], key
            assert plot.draws == draws + 1, key
            seen.append(plot.options)
        final = plot.options
        assert (final.smoothing, final.log_scale, final.series, final.last_steps) == (
            0.9,
            True,
            "train",
            1000,
        )
        legend = str(app.screen.query_one("#plot-options").render())
        assert "smoothing 0.9" in legend and "log" in legend and "last 1,000 steps" in legend


async def test_cancel_asks_then_ends_a_running_worker(in_tmp: Path, start_worker) -> None:
    folder, child = start_worker("--interval", "0.05")
    app = FinetuneApp(".finetune", watch=folder, gpu_probe=list)  # real clock: real heartbeats
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen) and child.poll() is None
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        wait_for(lambda: child.poll() is not None)
        await until(pilot, lambda: "CANCELLED" in stats_text(app), "the monitor saying CANCELLED")
        assert folder.read_status().state is RunState.CANCELLED
        assert app.screen.follow.status.state is RunState.CANCELLED
        assert "CANCELLED" in stats_text(app)
        assert app.screen.check_action("cancel_run", ()) is None


async def test_save_now_and_unsupported_pause(in_tmp: Path, start_worker) -> None:
    folder, _ = start_worker("--interval", "0.05")
    app = FinetuneApp(".finetune", watch=folder, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("pause_run", ()) is None  # greyed: local runs cannot pause
        assert screen.check_action("resume_run", ()) is False  # hidden: nothing is paused
        await pilot.press("p")
        await pilot.pause()
        assert any("cannot be paused" in n.message for n in app._notifications)
        await pilot.press("k")
        await app.workers.wait_for_complete()
        wait_for(lambda: "Saved checkpoint" in folder.log_txt.read_text())


async def test_finished_and_failed_runs_grey_out_control(make_app, app_store: RunStore) -> None:
    app = make_app(watch=hosted_succeeded(app_store), gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        for action in ("cancel_run", "pause_run", "save_now"):
            assert screen.check_action(action, ()) is None, action
        assert screen.check_action("evaluate", ()) is False  # `watch` has no journey to go on with
        text = stats_text(app)
        assert "Next: Evaluate ›" in text and "cost $3.70" in text
        await pilot.press("o")
        await pilot.pause()
        assert "ft:gpt-4o-mini-2024-07-18:acme:support:9xYz" in str(
            app.screen.query_one(".dialog-text").render()
        )


async def test_alerts_for_failure_and_overfitting(make_app, app_store: RunStore) -> None:
    failed, overfit = local_failed(app_store), local_overfitting(app_store)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for folder, words in ((failed, "CUDA out of memory"), (overfit, "Overfitting")):
            app.open_monitor(folder)
            await pilot.pause()
            alert = str(app.screen.query_one("#run-alert").render())
            assert words in alert
            await pilot.press("escape")
            await pilot.pause()
        assert "checkpoint at step 300" in alert


async def test_runs_list_marks_a_dead_worker_and_opens_the_history(
    make_app, app_store: RunStore
) -> None:
    runs = all_kinds(app_store)
    dead = local_running(app_store)
    dead.update_status(pid=2**22 + 17)  # the worker died
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one(DataTable)
        states = {row.run_id: row.state for row in app.screen.rows}
        assert states[dead.run_id] is RunState.FAILED
        assert states[runs["running"].run_id] is RunState.RUNNING
        assert table.row_count == 4
        order = [row.run_id for row in app.screen.rows]
        table.move_cursor(row=order.index(runs["hosted"].run_id))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        assert app.screen.follow.history.count == 90
        await pilot.press("escape")  # detach: back to the list, the run goes on
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)


async def test_resize_redraws(make_app, app_store: RunStore) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        draws = screen.plot.draws
        assert screen.has_class("-wide")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert screen.has_class("-narrow") and screen.has_class("-short")
        assert screen.plot.draws > draws
        assert screen.plot.size.height >= 11  # with the option line below: half of 24 rows
        assert screen.query_one("#monitor-plot-column").size.height >= 12


async def test_covered_monitor_stops_reading_until_it_is_back(
    make_app, app_store: RunStore
) -> None:
    folder = local_running(app_store)
    app = make_app(watch=folder, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        monitor = app.screen
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ticks = monitor.ticks
        folder.append_metrics(local_points(5, start=601))
        await pilot.pause(MonitorScreen.POLL_S * 3)
        assert monitor.ticks == ticks and monitor.follow.history.count == 600
        await pilot.press("escape")
        await pilot.pause()
        assert monitor.follow.history.count == 605


async def test_detach_quits_when_opened_by_watch(make_app, app_store: RunStore) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0
    assert not Path(".finetune/decision.json").exists()  # watching writes nothing


async def test_a_succeeded_run_goes_on_to_evaluate_with_itself_as_the_tuned_model(
    make_app, app_store: RunStore
) -> None:
    from tui.screens.evaluate import EvaluateSetupScreen

    folder = hosted_succeeded(app_store)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_monitor(folder)
        await pilot.pause()
        assert app.screen.check_action("evaluate", ()) is True
        await pilot.press("e")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, EvaluateSetupScreen)
        assert app.eval_choice.tuned == folder.run_id
