"""F5 and the monitor over damaged and hostile run folders, driven by keys (a pilot).

Lives with the CLI's trust tests: `watch` opens this same monitor.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Log, Static

from tests.support.damaged_runs import corpus_store, damaged_corpus, no_raw_escapes
from tui.screens.monitor import MonitorScreen
from tui.screens.runs import RunsScreen


def screen_text(app: object) -> str:
    return app.export_screenshot()  # type: ignore[attr-defined,no-any-return]


async def test_f5_lists_a_damaged_workspace_and_opens_each_run(make_app, in_tmp: Path) -> None:
    runs = damaged_corpus(corpus_store(in_tmp / ".finetune"))
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(runs)
        rows = {row.run_id: row for row in app.screen.rows}
        assert rows[runs["status_empty"].run_id].problem == "status.json: empty"
        order = [row.run_id for row in app.screen.rows]
        table.move_cursor(
            row=order.index(runs["no_run_json"].run_id)
        )  # the note is the highlighted run's
        await pilot.pause()
        note = str(app.screen.query_one("#runs-note", Static).render())
        assert "unreadable: run.json: missing" in note
        assert no_raw_escapes(screen_text(app))
        for name in ("no_run_json", "status_empty", "pid_huge", "hostile", "metrics_bad"):
            table.move_cursor(row=order.index(runs[name].run_id))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, MonitorScreen), name
            assert no_raw_escapes(screen_text(app)), name
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen), name


async def test_the_monitor_shows_escapes_in_log_txt_as_text(make_app, in_tmp: Path) -> None:
    runs = damaged_corpus(corpus_store(in_tmp / ".finetune"))
    app = make_app(watch=runs["hostile"], gpu_probe=list)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        log = "\n".join(app.screen.query_one(Log).lines)
        assert "hello␛]0;TITLE␇␛[2Jworld" in log
        alert = str(app.screen.query_one("#run-alert", Static).render())
        assert "boom␛]0;TITLE␇␛[2J" in alert
        assert no_raw_escapes(log + alert + screen_text(app))


async def test_the_monitor_of_a_run_without_run_json_says_so(make_app, in_tmp: Path) -> None:
    runs = damaged_corpus(corpus_store(in_tmp / ".finetune"))
    app = make_app(watch=runs["no_run_json"], gpu_probe=list)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        alert = str(app.screen.query_one("#run-alert", Static).render())
        assert "Unreadable: run.json: missing" in alert
