"""Scanning a JSONL file: one chunk in one process, or many chunks across processes.

``scan_chunk`` reads a byte range, checks every example, counts its tokens
and returns a compact ``ChunkResult`` (arrays of per-example figures, the
first findings of each code, 8-byte digests for duplicate detection). The
driver ``scan_file`` splits big files into chunks for a process pool (parsing
and checking are Python work: threads would share one core), merges the
results in file order, reports progress and stops on cancel.
"""

from __future__ import annotations

import hashlib
import os
import threading
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from backends.data import reader
from backends.data.chat_checks import ChatRules
from backends.data.example_checks import check_example
from backends.data.findings import Finding, FindingCollector
from backends.data.formats import DataFormat, detect_format
from backends.data.reader import ParsedLine, chunk_bounds, iter_lines, parse_raw, raw_lines
from backends.data.scan_plan import can_fork, chunk_size, plan_workers
from backends.data.tokenizer import TokenCounter

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

ProgressCallback = Callable[[int, int], object]
"""``progress(bytes_done, bytes_total)``; what it returns is ignored."""

NUMPY_DUPLICATES_FROM = 100_000
"""Examples from which duplicates are found with numpy (24 bytes each, but ~50 ms to import);
below, a dict (~150 bytes each) is faster than the import."""


@dataclass(frozen=True)
class ScanOptions:
    encoding: str
    """The encoding that counts (already resolved: ``EncodingChoice.used``)."""
    engine: str = "auto"
    context_limit: int | None = None
    local: bool = False
    keep: int = 20


class Recount(Protocol):
    """Re-counts the valid examples of a scan (``local_tokens.TemplateCounter``)."""

    def add(
        self,
        result: ChunkResult,
        index: int,
        line: int,
        value: dict[str, Any],
        fmt: DataFormat,
        approximate: bool,
    ) -> None:
        """Take example ``index`` of ``result``; may count held examples into ``result``."""

    def flush(self, result: ChunkResult) -> None:
        """Count every held example into ``result``."""


@dataclass
class ChunkResult:
    lines: int = 0
    bytes: int = 0
    findings: FindingCollector = field(default_factory=FindingCollector)
    formats: dict[str, list[int]] = field(default_factory=dict)
    """format → [count, first line]."""
    objects: int = 0
    totals: array = field(default_factory=lambda: array("I"))
    assistants: array = field(default_factory=lambda: array("I"))
    messages: array = field(default_factory=lambda: array("I"))
    example_lines: array = field(default_factory=lambda: array("I"))
    offsets: array = field(default_factory=lambda: array("Q"))
    digests: bytearray = field(default_factory=bytearray)
    images: int = 0
    approximate: int = 0
    cancelled: bool = False


_COUNTERS: dict[tuple[str, str], TokenCounter] = {}


def counter_for(options: ScanOptions) -> TokenCounter:
    key = (options.encoding, options.engine)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS[key] = TokenCounter.for_encoding(
            options.encoding, options.engine, allow_download=False
        )
    return counter


def check_values(
    items: Iterable[ParsedLine],
    options: ScanOptions,
    result: ChunkResult,
    count: TokenCounter,
    cancel: threading.Event | None = None,
    on_bytes: Callable[[int], None] | None = None,
    recount: Recount | None = None,
) -> ChunkResult:
    """Check parsed lines (or records) into ``result``.

    ``recount`` (local models): re-counts each valid example with the model's
    tokenizer and chat template, in batches, and reports the examples over
    the limit itself.
    """
    rules = ChatRules(local=options.local)
    limit = options.context_limit
    findings = result.findings
    formats = result.formats
    scratch: list[Finding] = []
    pending_bytes = 0
    for item in items:
        result.lines = item.line
        result.bytes += item.size + 1
        pending_bytes += item.size + 1
        if pending_bytes > 1 << 20:
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            if on_bytes is not None:
                on_bytes(pending_bytes)
            pending_bytes = 0
        if item.finding is not None:
            findings.add(item.finding)
            continue
        value = item.value
        if not isinstance(value, dict):
            findings.add(
                Finding(
                    "not_an_object", item.line, f"Line is a JSON {_json_type(value)}, not an object"
                )
            )
            continue
        result.objects += 1
        fmt = detect_format(value)
        seen = formats.get(fmt.value)
        if seen is None:
            formats[fmt.value] = [1, item.line]
        else:
            seen[0] += 1
        try:
            figures = check_example(value, fmt, item.line, count, rules, scratch)
            digest = hashlib.blake2b(
                orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str), digest_size=8
            ).digest()
        except Exception as exc:  # a bug must cost one line, not the whole report
            scratch.append(Finding("check_failed", item.line, f"{type(exc).__name__}: {exc}"))
            figures = None
        if scratch:
            findings.extend(scratch)
            scratch.clear()
        if figures is None:
            continue
        result.totals.append(figures.total)
        result.assistants.append(figures.assistant)
        result.messages.append(figures.messages)
        result.example_lines.append(item.line)
        result.offsets.append(item.offset)
        result.digests += digest
        result.images += figures.images
        result.approximate += figures.approximate
        if recount is not None:
            recount.add(
                result, len(result.totals) - 1, item.line, value, fmt, bool(figures.approximate)
            )
        elif limit is not None and figures.total > limit:
            findings.add(
                Finding(
                    "over_context_limit",
                    item.line,
                    f"{figures.total:,} tokens, over the {limit:,}-token limit: {figures.total - limit:,} will be truncated",
                )
            )
    if recount is not None:
        recount.flush(result)
    if on_bytes is not None and pending_bytes:
        on_bytes(pending_bytes)
    return result


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null"
    )


def scan_chunk(
    path: str,
    start: int,
    end: int,
    options: ScanOptions,
    cancel: threading.Event | None = None,
    on_bytes: Callable[[int], None] | None = None,
    recount: Recount | None = None,
) -> ChunkResult:
    """Scan bytes ``[start, end)`` of ``path``; line numbers count from the chunk's start."""
    result = ChunkResult(findings=FindingCollector(options.keep))
    if recount is not None:
        return check_values(
            iter_lines(Path(path), start, end),
            options,
            result,
            counter_for(options),
            cancel,
            on_bytes,
            recount,
        )
    return _scan_lines(Path(path), start, end, options, result, cancel, on_bytes)


def _scan_lines(
    path: Path,
    start: int,
    end: int,
    options: ScanOptions,
    result: ChunkResult,
    cancel: threading.Event | None,
    on_bytes: Callable[[int], None] | None,
) -> ChunkResult:
    """``check_values`` over the lines of a file without its per-line overhead: a line
    that parses to an object whose checks pass is recorded here; any other line (bad
    JSON, findings that make it invalid, a failing check) goes through ``check_values``,
    so every line gets the same figures and findings either way."""
    count = counter_for(options)
    rules = ChatRules(local=options.local)
    size = os.path.getsize(path)
    max_line_bytes = reader.MAX_LINE_BYTES
    limit = options.context_limit
    findings = result.findings
    formats = result.formats
    totals, assistants, messages = result.totals, result.assistants, result.messages
    example_lines, offsets, digests = result.example_lines, result.offsets, result.digests
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    blake2b = hashlib.blake2b
    scratch: list[Finding] = []
    pending_bytes = 0
    for line, (offset, raw, consumed) in enumerate(
        raw_lines(path, start, end, max_line_bytes), start=1
    ):
        figures = None
        width = consumed
        if raw is not None and offset != 0:  # the first line may start with a BOM
            width = len(raw) + 1  # without a "\r" before the newline, as check_values counts
            try:
                value = loads(raw)
                if type(value) is dict:
                    fmt = detect_format(value)
                    figures = check_example(value, fmt, line, count, rules, scratch)
                    if figures is not None:
                        digest = blake2b(
                            dumps(value, option=sort_keys, default=str), digest_size=8
                        ).digest()
            except Exception:  # check_values reports it
                figures = None
            if figures is None:
                scratch.clear()
        if figures is None:
            item = parse_raw(raw, line, offset, consumed, size, max_line_bytes)
            pending_bytes += item.size + 1
            check_values((item,), options, result, count)
        else:
            pending_bytes += width
            result.lines = line
            result.bytes += width
            result.objects += 1
            seen = formats.get(fmt.value)
            if seen is None:
                formats[fmt.value] = [1, line]
            else:
                seen[0] += 1
            if scratch:
                findings.extend(scratch)
                scratch.clear()
            total = figures.total
            totals.append(total)
            assistants.append(figures.assistant)
            messages.append(figures.messages)
            example_lines.append(line)
            offsets.append(offset)
            digests += digest
            result.images += figures.images
            result.approximate += figures.approximate
            if limit is not None and total > limit:
                findings.add(
                    Finding(
                        "over_context_limit",
                        line,
                        f"{total:,} tokens, over the {limit:,}-token limit: {total - limit:,} will be truncated",
                    )
                )
        if pending_bytes > 1 << 20:
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            if on_bytes is not None:
                on_bytes(pending_bytes)
            pending_bytes = 0
    if on_bytes is not None and pending_bytes:
        on_bytes(pending_bytes)
    return result


@dataclass
class ScanResult(ChunkResult):
    duplicates_of: dict[int, int] = field(default_factory=dict)
    """line of a duplicate → line of its first occurrence (capped like findings)."""


def merge(results: Iterable[ChunkResult], keep: int) -> ScanResult:
    """Join chunk results in file order: shift line numbers, then find duplicates across chunks."""
    merged = ScanResult(findings=FindingCollector(keep))
    line_offset = 0
    for part in results:
        merged.findings.merge(part.findings, line_offset)
        for fmt, (n, first) in part.formats.items():
            seen = merged.formats.get(fmt)
            if seen is None:
                merged.formats[fmt] = [n, first + line_offset]
            else:
                seen[0] += n
        merged.example_lines.extend(line + line_offset for line in part.example_lines)
        merged.digests += part.digests
        merged.totals.extend(part.totals)
        merged.assistants.extend(part.assistants)
        merged.messages.extend(part.messages)
        merged.offsets.extend(part.offsets)
        merged.objects += part.objects
        merged.images += part.images
        merged.approximate += part.approximate
        merged.bytes += part.bytes
        merged.cancelled = merged.cancelled or part.cancelled
        line_offset += part.lines
        merged.lines = line_offset
    for line, original in find_duplicates(merged.digests, merged.example_lines):
        merged.findings.add(Finding("duplicate_example", line, f"Same example as line {original}"))
    merged.digests = bytearray()
    return merged


def find_duplicates(digests: bytes | bytearray, lines: array) -> list[tuple[int, int]]:
    """(line, line of its first occurrence) for every repeated 8-byte digest, in file order.

    Sorting an array of digests costs ~24 bytes per example, where a dict of
    them would cost ~150: this is what keeps memory flat on million-line files.
    """
    if len(digests) < 16:
        return []
    if len(digests) < 8 * NUMPY_DUPLICATES_FROM:
        return _duplicates_by_dict(digests, lines)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with datasets
        return _duplicates_by_dict(digests, lines)
    keys = np.frombuffer(bytes(digests), dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeats = np.nonzero(ordered[1:] == ordered[:-1])[0] + 1
    if len(repeats) == 0:
        return []
    run_starts = np.concatenate(([0], np.nonzero(ordered[1:] != ordered[:-1])[0] + 1))
    firsts = order[run_starts[np.searchsorted(run_starts, repeats, side="right") - 1]]
    dupes = order[repeats]
    pairs = sorted(zip(dupes.tolist(), firsts.tolist(), strict=True))
    return [(lines[d], lines[f]) for d, f in pairs]


def _duplicates_by_dict(digests: bytes | bytearray, lines: array) -> list[tuple[int, int]]:
    """``find_duplicates`` with a dict: no numpy import, ~150 bytes per example."""
    first: dict[bytes, int] = {}
    found = []
    view = memoryview(digests)
    for i, line in enumerate(lines):
        original = first.setdefault(bytes(view[8 * i : 8 * i + 8]), line)
        if original != line:
            found.append((line, original))
    return found


def scan_file(
    path: Path,
    options: ScanOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    recount: Recount | None = None,
) -> ScanResult:
    """Scan a whole JSONL file, in parallel when it is big enough and ``workers`` allows.

    With ``recount`` (a local model's tokenizer) the scan runs in this process:
    the loaded tokenizer stays here, and its batched calls are the slow part.
    """
    size = os.path.getsize(path)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done = min(size, done + n)
        if progress is not None:
            progress(done, size)

    workers = 1 if recount is not None else plan_workers(size, workers)
    if workers <= 1:
        chunk = scan_chunk(str(path), 0, size, options, cancel, on_bytes, recount)
        return merge([chunk], options.keep)
    return _scan_parallel(path, size, options, workers, on_bytes, cancel)


def _process_context(options: ScanOptions) -> BaseContext:
    """fork when this process has one thread (workers inherit the loaded tokenizer);
    spawn otherwise."""
    import multiprocessing

    if can_fork():
        counter_for(options)
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _scan_parallel(
    path: Path,
    size: int,
    options: ScanOptions,
    workers: int,
    on_bytes: Callable[[int], None],
    cancel: threading.Event | None,
) -> ScanResult:
    """``workers - 1`` child processes take chunks from the front of the file while this
    process takes them from the back, until they meet."""
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    bounds = chunk_bounds(path, chunk_size(size, workers))
    todo = list(range(len(bounds)))
    todo.reverse()  # pop() is the front of the file, todo[0] its back
    results: dict[int, ChunkResult] = {}
    children = workers - 1
    with ProcessPoolExecutor(max_workers=children, mp_context=_process_context(options)) as pool:
        running: dict[Future[ChunkResult], int] = {}

        def hand_out() -> None:
            while todo and len(running) < 2 * children:
                index = todo.pop()
                start, end = bounds[index]
                running[pool.submit(scan_chunk, str(path), start, end, options)] = index

        def collect(timeout: float) -> None:
            if not running:
                return
            finished, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                index = running.pop(future)
                results[index] = future.result()
                on_bytes(bounds[index][1] - bounds[index][0])

        hand_out()
        while todo or running:
            if cancel is not None and cancel.is_set():
                for future in running:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                return _cancelled(results, options.keep)
            if todo:
                index = todo.pop(0)
                start, end = bounds[index]
                results[index] = scan_chunk(str(path), start, end, options, cancel, on_bytes)
                collect(0)
            else:
                collect(0.1)
            hand_out()
    return merge([results[i] for i in range(len(bounds))], options.keep)


def _cancelled(results: dict[int, ChunkResult], keep: int) -> ScanResult:
    """What was read before the cancel: the chunks from the file's start without a gap,
    up to and including one that stopped part-way."""
    ordered: list[ChunkResult] = []
    while len(ordered) in results:
        ordered.append(results[len(ordered)])
        if ordered[-1].cancelled:
            break
    merged = merge(ordered, keep)
    merged.cancelled = True
    return merged
