"""The workspace's runs as a table, newest first: the Runs screen and the Train step show it.

``refresh_runs`` reads the runs again (each run's metrics are tailed, so a
refresh reads only new lines) and touches the table only when a row changed,
keeping the highlighted run highlighted. The owner calls it on a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from backends.runs import RunFolder, RunStore
from backends.runs.figures import format_duration, format_loss
from backends.runs.table import UNREADABLE, RunRow, RunTable, format_started

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


DROP_ORDER = ("Model", "Backend", "Started", "Duration", "Best valid", "Step")
"""Columns left out, in this order, when the table is too narrow for all of them."""


def row_cells(row: RunRow, tz: tzinfo | None) -> tuple[str | Text, ...]:
    step = "—" if row.step is None else f"{row.step:,}"
    if row.step is not None and row.total_steps:
        step += f"/{row.total_steps:,}"
    best = "—" if row.best_valid is None else f"{row.best_valid[0]:.4f}"
    return (
        Text(row.run_id),  # Text: a str cell would be read as markup
        Text(row.backend),
        Text(row.model.rstrip("/").rsplit("/", 1)[-1]),
        Text(UNREADABLE, style="bold reverse")
        if row.problem
        else Text(row.state.value, style=STATE_STYLES.get(row.state.value, "")),
        format_started(row.started_at, tz, short=True),
        format_duration(row.duration_s),
        step,
        format_loss(row.last_loss),
        best,
    )


def fitting_columns(rows: list[tuple[str | Text, ...]], width: int) -> tuple[int, ...]:
    """Indexes of the columns that fit in ``width`` cells, dropping by ``DROP_ORDER``."""
    needed = [
        max([cell_len(name), *(cell_len(str(cells[index])) for cells in rows)]) + 2
        for index, name in enumerate(COLUMNS)
    ]
    kept = list(range(len(COLUMNS)))
    for name in DROP_ORDER:
        if sum(needed[index] for index in kept) <= width:
            break
        kept.remove(COLUMNS.index(name))
    return tuple(kept)


class RunList(DataTable):
    """One row per run of ``store``; ``run_rows`` holds what is shown.

    Columns that do not fit the width are left out (model first, then
    backend, start, duration...), so the run id, state and loss are always in
    view without scrolling sideways.
    """

    def __init__(self, store: RunStore, *, clock: Clock, tz: tzinfo | None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.store = store
        self.table = RunTable(store)
        self.clock = clock
        self.tz = tz
        self.run_rows: list[RunRow] = []
        self._cells: list[tuple[str | Text, ...]] = []
        self._shown: tuple[tuple[int, ...], list[tuple[str | Text, ...]]] | None = None

    def on_mount(self) -> None:
        self.refresh_runs()

    def on_resize(self) -> None:
        self._show()

    def refresh_runs(self) -> bool:
        """Read the runs again; returns whether the table changed."""
        self.run_rows = self.table.rows(self.clock())
        self._cells = [row_cells(row, self.tz) for row in self.run_rows]
        return self._show()

    def _show(self) -> bool:
        width = self.scrollable_content_region.width or self.size.width
        kept = fitting_columns(self._cells, width) if width else tuple(range(len(COLUMNS)))
        shown = [tuple(cells[index] for index in kept) for cells in self._cells]
        if (kept, shown) == self._shown:
            return False
        selected = self.selected_row()
        self.clear(columns=self._shown is None or kept != self._shown[0])
        if not self.columns:
            self.add_columns(*(COLUMNS[index] for index in kept))
        for row, cells in zip(self.run_rows, shown, strict=True):
            self.add_row(*cells, key=row.run_id)
        self._shown = (kept, shown)
        if selected is not None:
            self.select(selected.run_id)
        return True

    def selected_row(self) -> RunRow | None:
        if self.row_count == 0 or not self.run_rows:
            return None
        return self.run_rows[min(self.cursor_row, len(self.run_rows) - 1)]

    def selected_run(self) -> RunFolder | None:
        row = self.selected_row()
        return None if row is None else row.folder

    def select(self, run_id: str) -> None:
        """Highlight ``run_id`` when it is listed."""
        ids = [row.run_id for row in self.run_rows]
        if run_id in ids:
            self.move_cursor(row=ids.index(run_id))
