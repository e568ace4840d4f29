"""A ``DatasetReport`` as plain text (Markdown-compatible), for the CLI and records."""

from __future__ import annotations

from backends.data.findings import Severity
from backends.data.formats import DataFormat
from backends.data.report import DatasetReport
from backends.data.stats import PRICES_NOTE, Distribution, Histogram
from backends.text import counted

SAMPLE_LINES = 5


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def _dist_row(name: str, d: Distribution) -> str:
    return (
        f"| {name} | {d.min:,} | {d.p5:,.0f} | {d.mean:,.1f} | {d.median:,.0f} | {d.p90:,.0f} | "
        f"{d.p95:,.0f} | {d.max:,} | {d.total:,} |"
    )


def render_histogram(histogram: Histogram, width: int = 40) -> list[str]:
    """Text bars, one per bin: ``   120–239 | ████▌ 17``."""
    peak = max(histogram.counts) if histogram.counts else 0
    if peak == 0:
        return ["(no examples)"]
    labels = [
        f"{histogram.edges[i]:,}–{histogram.edges[i + 1] - 1:,}"
        for i in range(len(histogram.counts))
    ]
    pad = max(len(label) for label in labels)
    lines = []
    for label, count in zip(labels, histogram.counts, strict=True):
        cells = count * width / peak
        bar = "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")
        lines.append(f"{label:>{pad}} | {bar} {count:,}")
    return lines


def render_text(report: DatasetReport, title: str = "Dataset report", level: int = 1) -> str:
    """The report as Markdown-compatible text; a validation report is rendered without costs."""
    validation = level > 1
    out: list[str] = [f"{'#' * level} {title}: {report.source}", ""]
    verdict = (
        "OK: can be trained on"
        if report.ok
        else (
            "CANCELLED: partial figures"
            if report.cancelled
            else f"NOT READY: {counted(report.errors, 'error')}"
        )
    )
    fmt = DataFormat(report.format)
    out += [
        f"- Verdict: **{verdict}** ({counted(report.errors, 'error')}, {counted(report.warnings, 'warning')})",
        f"- Format: {fmt.label} ({counted(report.examples, 'example')} in {counted(report.lines, 'line')}, {report.valid_examples:,} valid)",
        f"- Size: {report.size_bytes / 2**20:,.2f} MB",
        f"- Model: {report.model} on {report.provider}"
        + (
            f" ({report.model_resolved}, context {report.context_limit:,} tokens)"
            if report.model_resolved and report.context_limit
            else ""
        ),
        f"- Tokenizer: {report.encoding.used} via {report.encoding.engine} ({report.encoding.source})"
        + ("" if report.encoding.exact else " — APPROXIMATE"),
    ]
    if report.approximations:
        out.append("- Approximate figures:")
        out += [f"  - {note}" for note in report.approximations]
    for note in report.notes:
        out.append(f"- Note: {note}")
    if fmt.convertible:
        out.append(
            f"- This is {fmt.label} data: `finetune-tui inspect FILE --convert-to-chat OUT.jsonl` writes a chat copy."
        )
    out.append("")
    out += _render_findings(report, "#" * (level + 1))
    if report.valid_examples:
        out += [
            f"{'#' * (level + 1)} Figures",
            "",
            "| per example | min | p5 | mean | median | p90 | p95 | max | total |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            _dist_row("messages", report.messages),
            _dist_row("tokens", report.tokens),
            _dist_row("assistant (trained) tokens", report.assistant_tokens),
            "",
            "Tokens per example:",
            "",
            "```",
            *render_histogram(report.histogram),
            "```",
            "",
        ]
    if report.valid_examples and not validation:
        if report.context_limit:
            out.append(
                f"- Over the {report.context_limit:,}-token limit (truncated): {report.over_limit:,} example(s)"
            )
        out += [
            f"- Billed tokens per epoch (each example capped at the limit): {report.billing_tokens:,}",
            f"- Epochs: {report.epochs} — {report.epochs_explained}",
            f"- Charged tokens: {report.charged_tokens:,}",
            f"- Estimated cost on {report.model}: {_money(report.estimated_cost_usd)}"
            + (
                f" (${report.price_per_1m:,.2f} per 1M tokens, prices as of {report.prices_as_of})"
                if report.price_per_1m is not None
                else ""
            ),
            "",
        ]
        out += _render_costs(report)
    if report.validation is not None:
        out += ["", render_text(report.validation, "Validation file", level + 1)]
    return "\n".join(out).rstrip() + "\n"


def _render_findings(report: DatasetReport, heading: str) -> list[str]:
    if not report.findings:
        return ["No findings.", ""]
    out = [f"{heading} Findings", ""]
    for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        for group in report.groups(severity):
            out.append(
                f"- {severity.value.upper()} `{group.code}` ×{group.count:,}: {group.info.title}. Fix: {group.info.fix}"
            )
            for finding in group.samples[:SAMPLE_LINES]:
                out.append(f"  - {finding.where()}: {finding.message}")
            if group.count > SAMPLE_LINES:
                lines = [str(f.line) for f in group.samples[SAMPLE_LINES:] if f.line is not None]
                more = f" (also lines {', '.join(lines)}…)" if lines else ""
                out.append(f"  - … {group.count - SAMPLE_LINES:,} more{more}")
    out.append("")
    return out


def _render_costs(report: DatasetReport) -> list[str]:
    if not report.costs:
        return []
    out = [
        f"## Cost per model ({report.epochs} epoch{'s' if report.epochs != 1 else ''})",
        "",
        "| model | context | price / 1M | charged tokens | cost |",
        "| --- | --- | --- | --- | --- |",
    ]
    for cost in report.costs:
        mark = " *" if cost.counted_with_other_encoding else ""
        price = "n/a" if cost.price_per_1m is None else f"${cost.price_per_1m:,.2f}"
        out.append(
            f"| {cost.alias}{mark} | {cost.context_limit:,} | {price} | {cost.charged_tokens:,} | {_money(cost.cost_usd)} |"
        )
    out.append("")
    if any(c.counted_with_other_encoding for c in report.costs):
        out.append(
            f"\\* uses another tokenizer than {report.encoding.used}: its figure is approximate."
        )
    out.append(PRICES_NOTE)
    return out
