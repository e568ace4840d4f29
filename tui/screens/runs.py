"""Every run in the workspace, newest first; Enter re-attaches to one with its whole history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from functools import partial
from typing import ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static

from backends.runs import RunFolder, RunStore
from backends.runs.table import RunRow
from tui.screens.host import JourneyApp
from tui.widgets.footer import KeyFooter
from tui.widgets.run_list import Clock, RunList


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
        self.clock = clock
        self.tz = tz
        self.open_run = open_run
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield RunList(self.store, clock=self.clock, tz=self.tz, id="runs-table")
        yield Static(id="runs-note", markup=False)
        yield KeyFooter()

    @property
    def rows(self) -> list[RunRow]:
        return self.query_one(RunList).run_rows

    def on_mount(self) -> None:
        self.sub_title = "Runs"
        self.refresh_runs()
        self._timer = self.set_interval(self.REFRESH_S, self.refresh_runs, name="runs-refresh")
        self.query_one(RunList).focus()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.refresh_runs()

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        self.query_one("#runs-note", Static).update(runs_note(self.query_one(RunList)))

    def refresh_runs(self) -> None:
        """Read the runs again; the table changes only where a row did."""
        table = self.query_one(RunList)
        table.refresh_runs()
        self.query_one("#runs-note", Static).update(runs_note(table))

    def selected_run(self) -> RunFolder | None:
        return self.query_one(RunList).selected_run()

    def action_open_run(self) -> None:
        folder = self.selected_run()
        if folder is not None:
            self.open_run(folder)

    def action_close_runs(self) -> None:
        self.dismiss(None)

    def action_refresh_runs(self) -> None:
        self.refresh_runs()


def runs_note(table: RunList) -> str:
    """Below the table: how to start a run when there is none, else what is wrong with the highlighted one."""
    if not table.run_rows:
        return (
            f"No runs yet in {table.store.root}. Start one with finetune-tui train, "
            "then watch it here."
        )
    notes = []
    row = table.selected_row()
    if row is not None and row.problem:
        notes.append(f"{row.run_id}: unreadable: {row.problem}")
    elif row is not None and row.error and row.state.is_terminal:
        notes.append(f"{row.run_id} {row.state.phrase}: {row.error}")
    return "\n".join([*notes, *table.store.skipped])


class WatchRunProvider(Provider):
    """Command palette entries ``Watch <run id>`` for every run of the app's workspace."""

    @property
    def journey(self) -> JourneyApp:
        """``self.app``, typed (a provider's ``app`` is typed ``App[object]``)."""
        return cast(JourneyApp, self.app)

    def _runs(self) -> list[RunFolder]:
        store = RunStore.of(self.journey.workspace)
        return store.list_folders()

    async def discover(self) -> Hits:
        for folder in self._runs()[:30]:
            yield DiscoveryHit(
                f"Watch {folder.run_id}",
                partial(self.journey.open_monitor, folder),
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
                    partial(self.journey.open_monitor, folder),
                    help=str(folder.path),
                )
