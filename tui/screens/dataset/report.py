"""Dataset step 2: the scan with progress, then the report in tabs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, ProgressBar, Static
from textual.worker import Worker, WorkerState

from tui.journey import Position
from tui.screens.step import StepScreen
from tui.state import DatasetChoice

if TYPE_CHECKING:
    from backends.data.report import DatasetReport


@dataclass
class ScanProgress(Message):
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress)


class DatasetReportScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(1, 1)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancel_scan = threading.Event()
        self.report: DatasetReport | None = None
        self.scan_started = 0.0
        self.scan_worker: Worker[DatasetReport] | None = None

    @property
    def choice(self) -> DatasetChoice:
        return self.app.dataset_choice

    def compose_body(self) -> ComposeResult:
        with Vertical(id="scan"):
            yield Static(f"Reading {self.choice.train}", id="scan-what", markup=False)
            yield ProgressBar(id="scan-bar", show_eta=False)
            yield Static("", id="scan-rate")
            yield Static("Esc cancels; the figures then cover what was read.", id="scan-hint")
        yield Vertical(id="report")

    def on_mount(self) -> None:
        super().on_mount()
        cached = self.app.dataset_report
        if cached is not None and self.app.dataset_report_key == self._key():
            self.show_report(cached)
        else:
            self.scan_started = time.monotonic()
            self.scan_worker = self.scan()

    def _key(self) -> tuple[str, ...]:
        """What the report depends on: a different key means a new scan."""
        choice = self.choice
        return (
            choice.train,
            choice.validation,
            choice.provider.value,
            choice.model,
            str(choice.max_length),
        )

    def can_go_next(self) -> bool:
        return self.report is not None and super().can_go_next()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="scan",
        description="Inspecting dataset",
    )
    def scan(self) -> DatasetReport:
        from backends.catalog import Provider
        from backends.data.inspector import InspectOptions
        from backends.data.scan_process import inspect_for_ui

        choice = self.choice
        local = choice.provider is Provider.LOCAL
        options = InspectOptions(
            model=choice.model,
            provider=choice.provider,
            max_length=choice.max_length if local else None,
        )
        return inspect_for_ui(
            choice.train,
            choice.validation or None,
            options,
            progress=lambda done, total: self.post_message(ScanProgress(done, total)),
            cancel=self.cancel_scan,
        )

    def on_scan_progress(self, message: ScanProgress) -> None:
        bar = self.query_one("#scan-bar", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        elapsed = max(time.monotonic() - self.scan_started, 1e-6)
        rate = message.done / elapsed
        left = (message.total - message.done) / rate if rate else 0
        self.query_one("#scan-rate", Static).update(
            f"{message.done / 2**20:,.1f} of {message.total / 2**20:,.1f} MB · "
            f"{rate / 2**20:,.1f} MB/s · about {left:,.0f} s left"
        )

    @on(Worker.StateChanged)
    def _scan_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "scan":
            return
        if event.state is WorkerState.SUCCESS:
            self.show_report(cast("DatasetReport", event.worker.result))
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            self.query_one("#scan-what", Static).update(
                f"Could not inspect {self.choice.train}: {error}"
            )
            self.query_one("#scan-hint", Static).update("Esc goes back to pick other data.")
            self.query_one("#scan-bar").display = False

    def show_report(self, report: DatasetReport) -> None:
        from tui.screens.dataset.panes import ReportTabs

        self.report = report
        self.app.dataset_report = report
        self.app.dataset_report_key = self._key()
        self.app.record_dataset(report)
        self.query_one("#scan").display = False
        mounting = self.query_one("#report", Vertical).mount(ReportTabs(report, id="report-tabs"))
        self._validity = None
        self.refresh_validity()
        self.call_next(self.focus_when_mounted, mounting)

    @on(DataTable.RowSelected, "#findings-table")
    def _open_finding(self, event: DataTable.RowSelected) -> None:
        from tui.screens.dataset.browse import FindingScreen
        from tui.screens.dataset.panes import FindingsTable

        table = self.query_one("#findings-table", FindingsTable)
        where, group = table.groups[int(str(event.row_key.value))]
        assert self.report is not None
        report = self.report if where == "train" else (self.report.validation or self.report)
        source = report.source
        self.app.push_screen(FindingScreen(report, group, source))

    @on(Button.Pressed, "#convert-button")
    def _convert(self) -> None:
        self.rewrite_data("convert")

    @on(Button.Pressed, "#split-button")
    def _split(self) -> None:
        self.rewrite_data("split")

    @work(thread=True, exclusive=True, exit_on_error=False, group="rewrite")
    def rewrite_data(self, how: str) -> None:
        """Write the chat copy or the split (new files only), then inspect what was written."""
        from backends.data.convert import TargetExists, convert_to_chat, split_file
        from tui.screens.dataset.panes import chat_copy_name

        assert self.report is not None
        source = Path(self.report.source)
        try:
            if how == "convert":
                target = chat_copy_name(source)
                result = convert_to_chat(source, target)
                done = f"Wrote {result.written:,} chat examples to {target.name}"
                if result.skipped_count:
                    done += f" ({result.skipped_count:,} lines skipped: see the Findings of the original)"
                train, validation = str(target), self.choice.validation
            else:
                split = split_file(source, 0.1, seed=0)
                done = (
                    f"Wrote {split.train_examples:,} examples to {split.train.name} and "
                    f"{split.validation_examples:,} to {split.validation.name} (seed 0)"
                )
                train, validation = str(split.train), str(split.validation)
        except (TargetExists, OSError, ValueError) as error:
            self.app.call_from_thread(
                self.notify, str(error), title="Nothing written", severity="error"
            )
            return
        self.app.call_from_thread(self._use_rewritten, train, validation, done)

    def _use_rewritten(self, train: str, validation: str, done: str) -> None:
        self.choice.train = train
        self.choice.validation = validation
        self.notify(done + ". Inspecting it now.", title="New data written")
        self.leave(self.position)

    def action_back(self) -> None:
        scanning = self.scan_worker is not None and not self.scan_worker.is_finished
        if scanning and not self.cancel_scan.is_set():
            self.cancel_scan.set()
            self.query_one("#scan-hint", Static).update("Cancelling: keeping what was read so far…")
            return
        if scanning:
            return
        super().action_back()
