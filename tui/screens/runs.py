"""Every run in the workspace, newest first; Enter re-attaches to one with its whole history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static

from backends.run_figures import format_duration, format_loss
from backends.run_table import RunRow, RunTable, format_started
from backends.runs import RunFolder, RunStore

Clock = Callable[[], float]
COLUMNS = ("Run", "Backend", "Model", "State", "Started", "Duration", "Step", "Loss", "Best valid")
STATE_STYLES = {
    "running": "bold",
    "succeeded": "",
    "failed": "bold reverse",
    "cancelled": "dim",
    "queued": "italic",
    "validating": "italic",
    "paused": "italic",
}
"""Text styles (no colours: the theme and ``NO_COLOR`` decide those) for the state column."""


def row_cells(row: RunRow, tz: tzinfo | None) -> tuple[str | Text, ...]:
    step = "—" if row.step is None else f"{row.step:,}"
    if row.step is not None and row.total_steps:
        step += f"/{row.total_steps:,}"
    best = "—" if row.best_valid is None else f"{row.best_valid[0]:.4f}"
    return (
        row.run_id,
        row.backend,
        row.model.rstrip("/").rsplit("/", 1)[-1],
        Text(row.state.value, style=STATE_STYLES.get(row.state.value, "")),
        format_started(row.started_at, tz, short=True),
        format_duration(row.duration_s),
        step,
        format_loss(row.last_loss),
        best,
    )


class RunsScreen(Screen[None]):
    """The runs list; refreshes every few seconds while it is on screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_run", "Watch", id="open-run", priority=True),
        Binding("escape", "close_runs", "Back", id="close-runs"),
        Binding("f5", "refresh_runs", "Refresh", id="refresh-runs", show=False),
    ]
    REFRESH_S: ClassVar[float] = 2.0

    def __init__(
        self,
        store: RunStore,
        *,
        clock: Clock,
        tz: tzinfo | None,
        open_run: Callable[[RunFolder], None],
    ) -> None:
        super().__init__(classes="runs")
        self.store = store
        self.table = RunTable(store)
        self.clock = clock
        self.tz = tz
        self.open_run = open_run
        self.rows: list[RunRow] = []
        self._shown: list[tuple[object, ...]] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="runs-note", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Runs"
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.refresh_runs()
        self._timer = self.set_interval(self.REFRESH_S, self.refresh_runs, name="runs-refresh")
        self.query_one(DataTable).focus()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.refresh_runs()

    def refresh_runs(self) -> None:
        """Read the runs again; touch the table only when a row changed."""
        self.rows = self.table.rows(self.clock())
        shown = [row_cells(row, self.tz) for row in self.rows]
        note = self.query_one("#runs-note", Static)
        if not self.rows:
            note.update(
                f"No runs yet in {self.store.root}. Start one with finetune-tui train, "
                "then watch it here."
            )
        else:
            failed = [row for row in self.rows if row.state.value == "failed" and row.error]
            note.update(f"{failed[0].run_id}: {failed[0].error}" if failed else "")
        if shown == self._shown:
            return
        table = self.query_one(DataTable)
        selected = self.selected_run()
        table.clear()
        for row, cells in zip(self.rows, shown, strict=True):
            table.add_row(*cells, key=row.run_id)
        self._shown = shown
        ids = [row.run_id for row in self.rows]
        if selected is not None and selected.run_id in ids:
            table.move_cursor(row=ids.index(selected.run_id))

    def selected_run(self) -> RunFolder | None:
        table = self.query_one(DataTable)
        if table.row_count == 0 or not self.rows:
            return None
        index = min(table.cursor_row, len(self.rows) - 1)
        return self.rows[index].folder

    def action_open_run(self) -> None:
        folder = self.selected_run()
        if folder is not None:
            self.open_run(folder)

    def action_close_runs(self) -> None:
        self.dismiss(None)

    def action_refresh_runs(self) -> None:
        self.refresh_runs()


class WatchRunProvider(Provider):
    """Command palette entries ``Watch <run id>`` for every run of the app's workspace."""

    def _runs(self) -> list[RunFolder]:
        app = self.app
        store = RunStore.of(app.workspace)  # type: ignore[attr-defined]
        return store.list_folders()

    async def discover(self) -> Hits:
        for folder in self._runs()[:30]:
            yield DiscoveryHit(
                f"Watch {folder.run_id}",
                partial(self.app.open_monitor, folder),  # type: ignore[attr-defined]
                help=str(folder.path),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for folder in self._runs():
            title = f"Watch {folder.run_id}"
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.open_monitor, folder),  # type: ignore[attr-defined]
                    help=str(folder.path),
                )
