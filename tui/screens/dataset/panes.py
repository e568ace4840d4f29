"""The report's tabs: Summary, Errors & warnings, Tokens, Cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from backends.data.findings import FindingGroup, Severity
from backends.data.report import DatasetReport
from backends.data.stats import Distribution
from backends.text import counted


def _usd(value: float | None) -> str:
    return "no price" if value is None else f"${value:,.2f}"


def _dist(d: Distribution) -> str:
    if d.count == 0:
        return "none counted"
    return f"min {d.min:,} · median {d.median:,.0f} · p95 {d.p95:,.0f} · max {d.max:,} · mean {d.mean:,.0f}"


def verdict_line(report: DatasetReport) -> tuple[str, str]:
    """(text, css class) saying whether the data can be trained on."""
    errors, warnings = report.errors, report.warnings
    if report.cancelled:
        return (
            f"Scan cancelled: figures cover the {report.examples:,} examples read so far.",
            "-wait",
        )
    if errors:
        return (
            f"✗ {counted(errors, 'error')}: fix them before training ({counted(warnings, 'warning')}).",
            "-stop",
        )
    if warnings:
        return (f"✓ Trainable, with {counted(warnings, 'warning')} worth reading.", "-wait")
    return ("✓ Ready to train: no errors, no warnings.", "-go")


def summary_text(report: DatasetReport) -> str:
    lines = [
        f"[b]Format[/b]            {escape(report.format)}  ({report.examples:,} examples read, {report.valid_examples:,} valid)",
        f"[b]Messages[/b]          {_dist(report.messages)}",
        f"[b]Tokens / example[/b]  {_dist(report.tokens)}",
        f"[b]Trained tokens[/b]    {_dist(report.assistant_tokens)}",
    ]
    if report.context_limit:
        lines.append(
            f"[b]Over the limit[/b]    {report.over_limit:,} examples longer than "
            f"{report.context_limit:,} tokens (truncated)"
        )
    else:  # a local model before a max length is set, a model the catalog does not know
        lines.append("[b]Over the limit[/b]    not checked: no context limit is known")
    auto = " (automatic)" if report.epochs_auto else ""
    lines.append(f"[b]Epochs[/b]            {report.epochs}{auto}")
    lines.append(
        f"[b]Billed tokens[/b]     {report.billing_tokens:,} per epoch × {report.epochs} = {report.charged_tokens:,}"
    )
    model = report.model_resolved or report.model
    if report.price_per_1m is not None:
        lines.append(
            f"[b]Estimated cost[/b]    {_usd(report.estimated_cost_usd)} on {escape(model)} "
            f"(${report.price_per_1m:,.2f} / 1M, price list {report.prices_as_of})"
        )
    else:
        lines.append(
            f"[b]Estimated cost[/b]    no price for {escape(model)} on {escape(report.provider)}"
        )
    exact = "exact" if report.exact else "approximate"
    lines.append(f"[b]Counted with[/b]      {escape(report.encoding.used)} ({exact})")
    for note in [*report.approximations, *report.notes]:
        lines.append(f"  · {escape(note)}")
    if report.validation is not None:
        v = report.validation
        lines.append(
            f"[b]Validation[/b]        {counted(v.examples, 'example')}, {counted(v.errors, 'error')}, {counted(v.warnings, 'warning')}"
        )
    return "\n".join(lines)


class SummaryPane(VerticalScroll):
    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def compose(self) -> ComposeResult:
        from backends.data.convert import default_split_names
        from backends.data.formats import DataFormat

        report = self.report
        text, verdict = verdict_line(report)
        yield Static(text, id="data-verdict", classes=verdict, markup=False)
        source = Path(report.source)
        if source.is_file() and not report.cancelled:
            with Horizontal(id="data-actions"):
                if report.format in {f.value for f in DataFormat if f.convertible}:
                    target = chat_copy_name(source)
                    yield Button(
                        f"Convert to chat → {target.name}", id="convert-button", compact=True
                    )
                if report.validation is None and report.valid_examples >= 20:
                    train, valid = default_split_names(source)
                    yield Button(
                        f"Split off 10% for validation → {train.name}, {valid.name}",
                        id="split-button",
                        compact=True,
                    )
        yield Static(summary_text(report), id="data-summary")


def chat_copy_name(source: Path) -> Path:
    """Where a chat-format copy of ``source`` goes (a new file next to it)."""
    stem = source.name.removesuffix(".jsonl").removesuffix(".json")
    return source.with_name(f"{stem}.chat.jsonl")


def finding_rows(report: DatasetReport) -> list[tuple[str, FindingGroup]]:
    """Every group of findings, errors first, each tagged with the file it is from."""
    rows = [("train", group) for group in report.findings]
    if report.validation is not None:
        rows += [("validation", group) for group in report.validation.findings]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(rows, key=lambda item: order[item[1].severity])


class FindingsTable(DataTable):
    """One row per check that fired; Enter opens its lines."""

    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.report = report
        self.groups = finding_rows(report)

    def on_mount(self) -> None:
        self.add_columns("Level", "Code", "Count", "File", "First lines", "What")
        for index, (where, group) in enumerate(self.groups):
            self.add_row(
                group.severity.value,
                group.code,
                f"{group.count:,}",
                where,
                first_lines(group),
                group.info.title,
                key=str(index),
            )


def first_lines(group: FindingGroup) -> str:
    """``2, 3, 4…``: the first lines of a group, or ``file`` for a whole-file finding."""
    lines = [str(f.line) for f in group.samples[:4] if f.line is not None]
    return ", ".join(lines) + ("…" if group.count > len(lines) and lines else "") or "file"


def finding_detail(where: str, group: FindingGroup) -> str:
    """Under the table, for the highlighted row: what, where and the fix, never cut."""
    lines = first_lines(group)
    place = "whole file" if lines == "file" else f"line{'s' if ',' in lines else ''} {lines}"
    return f"{group.info.title} ({where}, {place}). Fix: {group.info.fix}"


class FindingsPane(Vertical):
    """The findings table and, under it, the highlighted finding's fix."""

    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def compose(self) -> ComposeResult:
        yield FindingsTable(self.report, id="findings-table")
        yield Static(id="finding-detail", markup=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        groups = self.query_one(FindingsTable).groups
        row = event.cursor_row
        if 0 <= row < len(groups):
            self.query_one("#finding-detail", Static).update(finding_detail(*groups[row]))


class TokensPane(VerticalScroll):
    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="token-histogram")
        yield Static(
            f"Tokens per example, counted with {escape(self.report.encoding.used)}: {_dist(self.report.tokens)}",
            id="token-note",
        )

    def on_mount(self) -> None:
        histogram = self.report.histogram
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        labels = [f"{edge:,}" for edge in histogram.edges[:-1]]
        positions = list(range(1, len(labels) + 1))
        plt.bar(positions, list(histogram.counts), width=0.8)
        step = max(1, -(-len(labels) // 6))  # at most 6 tick labels: they must fit at 80 columns
        plt.xticks(positions[::step], labels[::step])
        plt.xlabel("tokens per example (bin start)")
        plt.ylabel("examples")
        if self.report.context_limit and histogram.edges[-1] > self.report.context_limit:
            plt.title(
                f"{self.report.over_limit:,} examples exceed {self.report.context_limit:,} tokens"
            )
        plot.refresh()


class CostTable(DataTable):
    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.report = report

    def on_mount(self) -> None:
        self.add_columns("Model", "Context", "$ / 1M", "Billed / epoch", "Charged", "Cost")
        for cost in self.report.costs:
            price = "—" if cost.price_per_1m is None else f"${cost.price_per_1m:,.2f}"
            mark = " ~" if cost.counted_with_other_encoding else ""
            self.add_row(
                cost.alias or cost.model,
                f"{cost.context_limit:,}",
                price,
                f"{cost.billing_tokens:,}{mark}",
                f"{cost.charged_tokens:,}{mark}",
                _usd(cost.cost_usd),
            )


def cost_explanation(report: DatasetReport) -> str:
    approx = (
        "\n~ counted with another model's encoding: approximate."
        if any(c.counted_with_other_encoding for c in report.costs)
        else ""
    )
    return (
        f"{escape(report.epochs_explained)}\nBilled tokens cap each example at the model's context "
        f"limit; charged = billed × epochs. Prices from the price list of {report.prices_as_of}."
        f"{approx}"
    )


class ReportTabs(Vertical):
    """Summary, Findings, Tokens, Cost and Examples of one report."""

    def __init__(self, report: DatasetReport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def compose(self) -> ComposeResult:
        from tui.screens.dataset.browse import ExamplesPane

        report = self.report
        problems = report.errors + report.warnings
        with TabbedContent(id="report-tabbed"):
            with TabPane("Summary", id="tab-summary"):
                yield SummaryPane(report)
            with TabPane(f"Findings ({problems:,})", id="tab-findings"):
                yield FindingsPane(report)
            with TabPane("Tokens", id="tab-tokens"):
                yield TokensPane(report)
            with TabPane("Cost", id="tab-cost"):
                yield CostTable(report, id="cost-table")
                yield Static(cost_explanation(report), id="cost-note")
            with TabPane("Examples", id="tab-examples"):
                yield ExamplesPane(report)
