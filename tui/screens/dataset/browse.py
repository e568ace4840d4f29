"""Looking at the data itself: the example browser, and the lines behind a finding."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson
from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from backends.data.findings import FindingGroup
from backends.data.reader import read_example_at
from backends.data.report import DatasetReport
from backends.data.sources import raw_line
from backends.text import printable, printable_line
from tui.screens.dataset.chat_view import ChatView

MAX_ROWS = 1000


def example_at_line(report: DatasetReport, line: int) -> int | None:
    """Index of the counted example that sits on ``line`` (``None`` if that line was not counted)."""
    index = bisect_left(report.example_lines, line)
    if index < len(report.example_lines) and report.example_lines[index] == line:
        return index
    return None


class ExamplesTable(DataTable):
    """Counted examples with their sizes; the highlighted one is shown as a chat."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "toggle_order", "Longest first", id="sort-examples"),
    ]

    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.report = report
        self.longest_first = False

    def on_mount(self) -> None:
        self.add_columns("Line", "Msgs", "Tokens", "Trained")
        self.fill()

    def fill(self) -> None:
        self.clear()
        report = self.report
        order: Sequence[int] = range(len(report.token_counts))
        if self.longest_first:
            order = sorted(order, key=lambda i: report.token_counts[i], reverse=True)
        for index in list(order)[:MAX_ROWS]:
            self.add_row(
                f"{report.example_lines[index]:,}",
                str(report.message_counts[index]),
                f"{report.token_counts[index]:,}",
                f"{report.assistant_counts[index]:,}",
                key=str(index),
            )

    def action_toggle_order(self) -> None:
        self.longest_first = not self.longest_first
        self.fill()
        self.border_subtitle = "longest first" if self.longest_first else "file order"


class ExamplesPane(Horizontal):
    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.path = Path(report.source)

    def compose(self) -> ComposeResult:
        if not self.path.is_file():
            yield Static(
                "Examples are browsable for files on disk; this source was read through "
                "Hugging Face datasets, whose rows have no line to point at.",
                classes="pane-note",
            )
            return
        table = ExamplesTable(self.report, id="examples-table")
        count = len(self.report.token_counts)
        table.border_title = (
            f"{min(count, MAX_ROWS):,} of {count:,} examples"
            if count > MAX_ROWS
            else f"{count:,} examples"
        )
        table.border_subtitle = "file order · s: longest first"
        yield table
        yield ChatView(id="example-chat")

    @on(DataTable.RowHighlighted, "#examples-table")
    def _show(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        index = int(event.row_key.value)
        report = self.report
        try:
            example = read_example_at(self.path, report.example_offsets[index])
        except (OSError, ValueError) as error:
            self.query_one(ChatView).show(
                None, f"Could not read line {report.example_lines[index]:,}: {error}"
            )
            return
        heading = (
            f"line {report.example_lines[index]:,} · {report.token_counts[index]:,} tokens, "
            f"{report.assistant_counts[index]:,} trained"
        )
        self.query_one(ChatView).show(example, heading)


class FindingScreen(ModalScreen[None]):
    """Every kept line of one finding, and the line itself as it is in the file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_finding", "Close", id="close-finding"),
    ]

    def __init__(self, report: DatasetReport, group: FindingGroup, source: str) -> None:
        super().__init__(classes="dialog")
        self.report = report
        self.group = group
        self.source = source

    def compose(self) -> ComposeResult:
        group = self.group
        with Vertical(id="finding-box", classes="dialog-box"):
            yield Static(
                f"[b]{escape(group.code)}[/b] · {escape(group.info.title)} · {group.count:,} "
                f"{'time' if group.count == 1 else 'times'}",
                classes="dialog-title",
            )
            yield Static(f"Fix: {escape(group.info.fix)}", classes="dialog-text")
            table: DataTable = DataTable(id="finding-lines", cursor_type="row")
            yield table
            yield ChatView(id="finding-example")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#finding-lines", DataTable)
        table.add_columns("Where", "Message")
        for index, finding in enumerate(self.group.samples):
            table.add_row(
                Text(printable_line(finding.where())),
                Text(printable_line(finding.message)),
                key=str(index),
            )
        if self.group.count > len(self.group.samples):
            table.add_row("…", f"{self.group.count - len(self.group.samples):,} more not listed")
        table.focus()

    @on(DataTable.RowHighlighted, "#finding-lines")
    def _show_line(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None:
            return
        finding = self.group.samples[int(key)]
        view = self.query_one("#finding-example", ChatView)
        if finding.line is None:
            view.show(None, "This finding concerns the whole file.")
            return
        index = (
            example_at_line(self.report, finding.line)
            if self.source == self.report.source
            else None
        )
        if index is not None:
            try:
                view.show(
                    read_example_at(Path(self.source), self.report.example_offsets[index]),
                    f"line {finding.line:,}",
                )
                return
            except (OSError, ValueError):
                pass
        self._load_raw(finding.line)

    @work(thread=True, exclusive=True, exit_on_error=False, group="raw-line")
    def _load_raw(self, line: int) -> None:
        try:
            text = raw_line(self.source, line)
        except OSError as error:
            text = f"could not read {self.source}: {error.strerror or error}"
        self.app.call_from_thread(self._show_raw, line, text)

    def _show_raw(self, line: int, text: str | None) -> None:
        view = self.query_one("#finding-example", ChatView)
        if text is None:
            view.show(None, f"line {line:,} is past the end of the file")
            return
        try:
            view.show(orjson.loads(text), f"line {line:,}")
        except orjson.JSONDecodeError:
            view.show(None, f"line {line:,} as written:")
            view.mount(Static(printable(text), classes="chat-text raw-line", markup=False))

    def action_dismiss_finding(self) -> None:
        self.dismiss(None)
