"""Inspecting a dataset end to end: ``inspect_file`` and ``inspect_records``.

Both return a ``DatasetReport``. They take a ``progress(done, total)``
callback and a ``threading.Event`` to cancel, so a UI worker can show a
progress bar and stop the scan; a cancelled report says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.catalog import DPO, PRICES_AS_OF, SUPERVISED, Provider
from backends.data.findings import Finding, FindingCollector, Severity
from backends.data.formats import DataFormat
from backends.data.inspect_target import (
    DEFAULT_ENCODING,
    InspectOptions,
    InspectTarget,
    resolve_target,
)
from backends.data.reader import FileProbe, ParsedLine, probe_file
from backends.data.report import DatasetReport
from backends.data.scan import (
    ChunkResult,
    ProgressCallback,
    ScanOptions,
    ScanResult,
    check_values,
    merge,
    scan_file,
)
from backends.data.stats import (
    COMPLETION_MODELS,
    Distribution,
    Histogram,
    billing_tokens,
    costs_per_model,
    default_epochs,
    explain_epochs,
)
from backends.data.tokenizer import TokenCounter

if TYPE_CHECKING:
    from backends.data.local_tokens import TemplateCounter

__all__ = [
    "DEFAULT_ENCODING",
    "HOSTED_FILE_LIMIT_BYTES",
    "MIN_EXAMPLES",
    "RECOMMENDED_EXAMPLES",
    "InspectOptions",
    "build_report",
    "inspect_file",
    "inspect_records",
    "inspect_with_validation",
]

HOSTED_FILE_LIMIT_BYTES = 512 * 1024 * 1024
MIN_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50


def inspect_file(
    path: str | Path,
    options: InspectOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    """Inspect a JSONL file (or a JSON array file) on disk."""
    options = options or InspectOptions()
    path = Path(path)
    started = time.perf_counter()
    target = resolve_target(options)
    probe = probe_file(path)
    scan_options = _scan_options(options, target)
    recount = target.recounter()
    if probe.fatal:
        scan = ScanResult()
    elif probe.array_items is not None:
        items = (ParsedLine(i + 1, 0, value) for i, value in enumerate(probe.array_items))
        scan = _check_items(items, scan_options, target, cancel, recount)
    else:
        scan = scan_file(path, scan_options, progress, cancel, options.workers, recount)
    return build_report(
        str(path), scan, probe, options, target, time.perf_counter() - started, recount
    )


def inspect_records(
    records: Iterable[Mapping[str, Any]],
    source: str,
    options: InspectOptions | None = None,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    """Inspect rows already in memory or streamed (Hugging Face datasets); row ``i`` is "line" ``i+1``."""
    options = options or InspectOptions()
    started = time.perf_counter()
    target = resolve_target(options)
    scan_options = _scan_options(options, target)

    def items() -> Iterable[ParsedLine]:
        for i, record in enumerate(records):
            if progress is not None and total and i % 1000 == 0:
                progress(i, total)
            yield ParsedLine(i + 1, 0, dict(record))

    recount = target.recounter()
    scan = _check_items(items(), scan_options, target, cancel, recount)
    if progress is not None and total:
        progress(total, total)
    return build_report(
        source, scan, FileProbe(), options, target, time.perf_counter() - started, recount
    )


def _scan_options(options: InspectOptions, target: InspectTarget) -> ScanOptions:
    return ScanOptions(
        target.scan_choice.used,
        target.scan_choice.engine,
        target.context_limit,
        options.provider is Provider.LOCAL,
        options.keep,
    )


def _check_items(
    items: Iterable[ParsedLine],
    scan_options: ScanOptions,
    target: InspectTarget,
    cancel: threading.Event | None,
    recount: TemplateCounter | None = None,
) -> ScanResult:
    counter = TokenCounter.for_encoding(
        target.scan_choice.used, target.scan_choice.engine, allow_download=False
    )
    chunk = check_values(
        items,
        scan_options,
        ChunkResult(findings=FindingCollector(scan_options.keep)),
        counter,
        cancel,
        recount=recount,
    )
    return merge([chunk], scan_options.keep)


def _dominant(formats: Mapping[str, list[int]]) -> DataFormat:
    known = {k: v for k, v in formats.items() if k != DataFormat.UNKNOWN.value}
    if not known:
        return DataFormat.UNKNOWN
    return DataFormat(max(known.items(), key=lambda kv: (kv[1][0], -kv[1][1]))[0])


def _file_findings(
    scan: ScanResult,
    probe: FileProbe,
    options: InspectOptions,
    target: InspectTarget,
    fmt: DataFormat,
) -> list[Finding]:
    found: list[Finding] = list(probe.findings)
    provider = options.provider
    hosted = provider is not Provider.LOCAL
    if probe.fatal:
        return found
    if probe.has_bom:
        why = "Azure OpenAI asks for it" if provider is Provider.AZURE else "accepted"
        found.append(Finding("bom", 1, f"The file starts with a UTF-8 byte-order mark ({why})"))
    elif provider is Provider.AZURE and probe.array_items is None and probe.size:
        found.append(
            Finding(
                "missing_bom",
                None,
                "Azure OpenAI's docs ask for UTF-8 files with a byte-order mark",
            )
        )
    if hosted and probe.size > HOSTED_FILE_LIMIT_BYTES:
        found.append(
            Finding(
                "file_too_large",
                None,
                f"{probe.size / 2**20:,.0f} MB is over the 512 MB {provider.label} accepts",
            )
        )
    for other, (n, first) in sorted(scan.formats.items(), key=lambda kv: kv[1][1]):
        if other not in (fmt.value, DataFormat.UNKNOWN.value):
            label = DataFormat(other).label
            found.append(
                Finding(
                    "mixed_formats",
                    first,
                    f"{n:,} example(s) are {label} (first here) in a {fmt.label} file",
                )
            )
    found.extend(_format_support(fmt, options, target))
    if not options.is_validation and not scan.cancelled:
        severity = None if hosted else Severity.WARNING
        n = len(scan.totals)
        if n < MIN_EXAMPLES:
            found.append(
                Finding(
                    "too_few_examples",
                    None,
                    f"{n} valid example(s); hosted fine-tuning needs at least {MIN_EXAMPLES}",
                    severity=severity,
                )
            )
        elif n < RECOMMENDED_EXAMPLES:
            found.append(
                Finding("few_examples", None, f"{n} valid examples; 50 or more usually work better")
            )
    if scan.images:
        found.append(
            Finding(
                "images_not_counted", None, f"{scan.images:,} image(s) are not in the token figures"
            )
        )
    return found


def _format_support(
    fmt: DataFormat, options: InspectOptions, target: InspectTarget
) -> list[Finding]:
    if fmt is DataFormat.UNKNOWN:
        return []
    model = options.model
    if options.provider is Provider.LOCAL:
        if fmt in (DataFormat.ALPACA, DataFormat.SHAREGPT):
            return [
                Finding(
                    "unsupported_format",
                    None,
                    f"{fmt.label}: convert to chat for local training",
                    severity=Severity.WARNING,
                )
            ]
        return []
    entry = target.entry
    if entry is None:
        return []
    legacy_completion = entry.name in COMPLETION_MODELS
    if fmt is DataFormat.PROMPT_COMPLETION and not legacy_completion:
        why = f"{model} trains on chat examples; prompt/completion is the legacy format of davinci-002/babbage-002"
    elif fmt is not DataFormat.PROMPT_COMPLETION and legacy_completion:
        why = f"{model} is a legacy completion model: it trains on prompt/completion examples only"
    elif fmt is DataFormat.DPO and DPO not in entry.methods:
        why = f"{model} does not offer DPO fine-tuning"
    elif fmt in (DataFormat.ALPACA, DataFormat.SHAREGPT):
        why = f"{options.provider.label} accepts chat format, not {fmt.label}"
    else:
        return []
    return [Finding("unsupported_format", None, why)]


def build_report(
    source: str,
    scan: ScanResult,
    probe: FileProbe,
    options: InspectOptions,
    target: InspectTarget,
    elapsed: float,
    recount: TemplateCounter | None = None,
) -> DatasetReport:
    fmt = _dominant(scan.formats)
    findings = FindingCollector(options.keep)
    findings.extend(_file_findings(scan, probe, options, target, fmt))
    skipped_all = recount is not None and recount.tools_skipped >= len(scan.totals) > 0
    if skipped_all and not options.is_validation:
        findings.add(
            Finding(
                "nothing_to_train",
                None,
                f"Every example uses tools, and {options.model}'s chat template cannot render "
                "tool calls: local training would have nothing left",
            )
        )
    findings.merge(scan.findings)
    totals = scan.totals
    limit = target.context_limit
    n = len(totals)
    auto = options.epochs is None
    epochs = default_epochs(n) if options.epochs is None else options.epochs
    billed = billing_tokens(totals, limit)
    method = DPO if fmt is DataFormat.DPO else SUPERVISED
    hosted = options.provider is not Provider.LOCAL
    costs = (
        costs_per_model(
            totals,
            epochs,
            target.encoding.used,
            method,
            options.price_overrides,
            options.provider,
            fmt is DataFormat.PROMPT_COMPLETION,
        )
        if hosted
        else []
    )
    chosen = next((c for c in costs if target.entry and c.model == target.entry.name), None)
    approximations = list(target.notes)
    if not target.encoding.exact:
        approximations.append(target.encoding.note)
    if recount is not None:
        approximations.extend(recount.notes())
    if scan.approximate:
        approximations.append(
            f"{scan.approximate:,} example(s) have tool definitions or tool calls: counted as the tokens of their JSON text (no published formula)."
        )
    if scan.images:
        approximations.append(
            f"{scan.images:,} image(s) not counted: image tokens depend on size and detail."
        )
    return DatasetReport(
        source=source,
        size_bytes=probe.size,
        provider=options.provider.value,
        model=options.model,
        model_resolved=target.entry.name if target.entry else None,
        context_limit=limit,
        format=fmt.value,
        format_counts={k: v[0] for k, v in scan.formats.items()},
        lines=scan.lines,
        examples=scan.objects,
        valid_examples=n,
        findings=findings.sorted_groups(),
        encoding=target.encoding,
        approximations=approximations,
        messages=Distribution.of(scan.messages),
        tokens=Distribution.of(totals),
        assistant_tokens=Distribution.of(scan.assistants),
        histogram=Histogram.of(totals),
        over_limit=_over(totals, limit),
        billing_tokens=billed,
        epochs=epochs,
        epochs_auto=auto,
        epochs_explained=explain_epochs(n) if auto else f"Epochs set to {epochs} by you.",
        charged_tokens=billed * epochs,
        price_per_1m=chosen.price_per_1m if chosen else None,
        estimated_cost_usd=chosen.cost_usd if chosen else None,
        costs=costs,
        prices_as_of=PRICES_AS_OF,
        images=scan.images,
        cancelled=scan.cancelled,
        elapsed_s=elapsed,
        token_counts=scan.totals,
        assistant_counts=scan.assistants,
        message_counts=scan.messages,
        example_lines=scan.example_lines,
        example_offsets=scan.offsets,
    )


def _over(totals: Sequence[int], limit: int | None) -> int:
    """Examples over ``limit`` tokens."""
    if limit is None or not totals or max(totals) <= limit:
        return 0
    return sum(1 for t in totals if t > limit)


def inspect_with_validation(
    path: str | Path,
    validation: str | Path | None,
    options: InspectOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    """Inspect a training file and, if given, its validation file (attached as ``report.validation``)."""
    options = options or InspectOptions()
    report = inspect_file(path, options, progress, cancel)
    if validation is not None and not report.cancelled:
        from dataclasses import replace

        report.validation = inspect_file(
            validation, replace(options, is_validation=True), None, cancel
        )
    return report
