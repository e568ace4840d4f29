"""Train step: every run of the workspace, live; the highlighted one is what Evaluate measures.

Training itself happens in a detached worker or at the provider (Backend ›
Launch starts it); this step lists the runs, opens one's monitor with Enter,
and carries the highlighted run forward as Evaluate's tuned model when it
has a trained model. Next is never blocked: the baselines can be measured
before any training.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Static

from backends.runs import RunStore
from backends.runs.table import RunRow
from backends.runs.values import RunState
from tui.journey import Position
from tui.screens.step import StepScreen
from tui.widgets.run_list import RunList

TRAINED = (RunState.SUCCEEDED,)


def evaluate_line(row: RunRow | None) -> str:
    """What Next carries to Evaluate, in words."""
    if row is None:
        return (
            "No runs yet: launch one from Backend › Launch (or finetune-tui train). "
            "Evaluate can still measure the baselines."
        )
    if row.state in TRAINED:
        model = row.fine_tuned_model or f"the model in {row.folder.output_dir}"
        return f"Evaluate will measure {row.run_id} ({model}) against the baselines."
    return (
        f"{row.run_id} {row.state.phrase}: it has no trained model to evaluate yet. "
        "Evaluate will measure the baselines only; Enter watches the run."
    )


class TrainRunsScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(3, 0)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_run", "Watch", id="train-open-run"),
    ]
    REFRESH_S: ClassVar[float] = 2.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        app = self.app
        yield RunList(
            RunStore.of(app.workspace),
            clock=app.timestamp,
            tz=app.clock().tzinfo,
            id="train-runs",
        )

    def compose_summary(self) -> ComposeResult:
        yield Static("", id="train-evaluate", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(RunList)
        table.refresh_runs()
        tuned = self.app.eval_choice.tuned
        if tuned:
            table.select(tuned)
        table.focus()
        self._show_choice()
        self._timer = self.set_interval(self.REFRESH_S, self.refresh_runs, name="train-refresh")

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.refresh_runs()

    def refresh_runs(self) -> None:
        if self.query_one(RunList).refresh_runs():
            self._show_choice()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_choice()

    def _show_choice(self) -> None:
        row = self.query_one(RunList).selected_row()
        self.query_one("#train-evaluate", Static).update(evaluate_line(row))

    def action_open_run(self) -> None:
        folder = self.query_one(RunList).selected_run()
        if folder is not None:
            self.app.open_monitor(folder)

    def store(self) -> None:
        row = self.query_one(RunList).selected_row()
        if row is not None and row.state in TRAINED:
            self.app.eval_choice.tuned = row.run_id
