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


async def test_lines_read_when_a_background_action_ends_reach_the_log(
    make_app, app_store: RunStore
) -> None:
    """A merge, export or control action that ends reads the folder at once; the log lines and
    points that read takes must be drawn, not lost (they were, once, when it beat the timer)."""
    folder = local_running(app_store)
    app = make_app(watch=folder, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MonitorScreen) and screen._timer is not None
        screen._timer.pause()  # only the action's own read can show what follows
        draws = screen.plot.draws
        folder.append_metrics(local_points(10, start=601))
        folder.log("Merge: Loading the base model in bf16…")
        screen.run_worker(lambda: "Merged.", group="merge", thread=True)
        await until(
            pilot,
            lambda: "Merge: Loading" in "\n".join(screen.query_one(Log).lines),
            "the line read when the action ended",
        )
        assert screen.follow.history.count == 610 and screen.plot.draws > draws


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
        assert (
            app.screen.check_action("cancel_run", ()) is False
        )  # a finished run no longer offers Cancel


async def test_save_now_and_unsupported_pause(in_tmp: Path, start_worker) -> None:
    folder, _ = start_worker("--interval", "0.05")
    app = FinetuneApp(".finetune", watch=folder, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("pause_run", ()) is False  # hidden: local runs cannot pause
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
        for action in ("cancel_run", "pause_run", "resume_run", "save_now"):
            assert screen.check_action(action, ()) is False, action  # not offered at all
        footer = [active.binding.description for active in screen.active_bindings.values()]
        assert "Cancel" not in footer and "Save now" not in footer
        assert screen.check_action("evaluate", ()) is False  # `watch` has no journey to go on with
        text = stats_text(app)
        assert "Next:" not in text and "cost $3.70" in text  # no promise `e` cannot keep
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
        await until(
            pilot,
            lambda: (
                screen.has_class("-narrow")
                and screen.has_class("-short")
                and screen.plot.draws > draws
                and tuple(screen.size) == (80, 24)
            ),
            lambda: f"the 80x24 layout (classes {screen.classes}, plot {screen.plot.size})",
        )
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
        assert "Next: e Evaluate ›" in stats_text(app)
        await pilot.press("e")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, EvaluateSetupScreen)
        assert app.eval_choice.tuned == folder.run_id


async def test_the_footer_never_cuts_a_key_and_the_palette_has_them_all(
    make_app, app_store: RunStore
) -> None:
    """At 80 columns: the screen's keys first, whole or not at all (#11 item 8)."""
    from textual.widgets._footer import FooterKey

    from tui.widgets.footer import KeyFooter, ScreenKeys

    app = make_app(watch=local_running(app_store), gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        keys = list(footer.query(FooterKey))
        palette = [k for k in keys if k.has_class("-command-palette")]
        shown = [k for k in keys if not k.has_class("-command-palette")]
        assert [k.description for k in shown[:4]] == ["Detach", "Cancel", "Save now", "Output"]
        assert "Pause" not in [k.description for k in shown]  # a local run cannot pause
        edge = palette[0].region.x
        assert all(k.region.right <= edge and k.region.width >= k.content_size.width for k in shown)
        provider = ScreenKeys(app.screen)
        names = [name for name, _help, _action in provider._commands()]
        assert {"Detach", "Cancel", "Save now", "Output"} <= set(names)  # Pause: not for local
        assert "Quit" not in names  # the global keys are the app's own commands


async def test_the_runs_list_note_follows_the_highlighted_run_in_full(
    make_app, app_store: RunStore
) -> None:
    """The bottom panel is the highlighted run's error, whole; none for a run without one (#11 item 11)."""
    runs = all_kinds(app_store)
    failed = local_failed(app_store)
    long_error = "CUDA out of memory. " + " ".join(f"detail{n}" for n in range(60)) + " END"
    failed.update_status(error=long_error)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        note = app.screen.query_one("#runs-note")
        order = [row.run_id for row in app.screen.rows]
        table.move_cursor(row=order.index(runs["running"].run_id))
        await pilot.pause()
        assert str(note.render()).strip() == ""
        table.move_cursor(row=order.index(failed.run_id))
        await pilot.pause()
        rendered = " ".join(line.text for line in note.render_lines(note.region.reset_offset))
        assert f"{failed.run_id} has failed: CUDA out of memory." in " ".join(rendered.split())
        assert "END" in rendered  # wrapped, never cut


async def test_help_lists_the_monitors_own_keys_first(make_app, app_store: RunStore) -> None:
    """F1 on the monitor: its keys (hidden plot toggles too), then the global ones (#11 item 7)."""
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        here = str(app.screen.query_one("#help-screen-keys").render())
        for description in ("Detach", "Cancel", "Save now", "Smoothing", "Log scale", "Zoom"):
            assert description in here
        assert "Quit" not in here  # a global key: listed under Everywhere
        assert "Everywhere" in str(app.screen.query_one("#help-keys").render())
        tour = str(app.screen.query_one("#help-tour").render())
        assert all(stage in tour for stage in ("Decide", "Dataset", "Backend", "Train", "Evaluate"))
