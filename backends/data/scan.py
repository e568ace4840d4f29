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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Protocol

import orjson

from backends.data.chat_checks import ChatRules
from backends.data.example_checks import check_example
from backends.data.findings import Finding, FindingCollector
from backends.data.formats import DataFormat, detect_format
from backends.data.reader import ParsedLine, chunk_bounds, iter_lines
from backends.data.tokenizer import TokenCounter

ProgressCallback = Callable[[int, int], object]
"""``progress(bytes_done, bytes_total)``; what it returns is ignored."""

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
NUMPY_DUPLICATES_FROM = 100_000
"""Examples from which duplicates are found with numpy (24 bytes each, but ~50 ms to import);
below, a dict (~150 bytes each) is faster than the import."""
CHUNK_BYTES = 4 * 1024 * 1024


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
    return check_values(
        iter_lines(Path(path), start, end),
        options,
        result,
        counter_for(options),
        cancel,
        on_bytes,
        recount,
    )


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
    workers = workers if workers is not None else (os.cpu_count() or 1)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done = min(size, done + n)
        if progress is not None:
            progress(done, size)

    if recount is not None or workers <= 1 or size < PARALLEL_MIN_BYTES:
        chunk = scan_chunk(str(path), 0, size, options, cancel, on_bytes, recount)
        return merge([chunk], options.keep)
    return _scan_parallel(path, size, options, workers, on_bytes, cancel)


def _process_context(options: ScanOptions) -> BaseContext:
    """fork when this process has one thread (workers inherit the loaded tokenizer);
    spawn otherwise (the UI has threads, and fork would copy their held locks)."""
    if threading.active_count() == 1 and "fork" in get_all_start_methods():
        counter_for(options)
        return get_context("fork")
    return get_context("spawn")


def _scan_parallel(
    path: Path,
    size: int,
    options: ScanOptions,
    workers: int,
    on_bytes: Callable[[int], None],
    cancel: threading.Event | None,
) -> ScanResult:
    bounds = chunk_bounds(path, CHUNK_BYTES)
    results: dict[int, ChunkResult] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=_process_context(options)) as pool:
        running: dict[Future[ChunkResult], int] = {}
        next_index = 0
        while next_index < len(bounds) or running:
            while next_index < len(bounds) and len(running) < 2 * workers:
                start, end = bounds[next_index]
                running[pool.submit(scan_chunk, str(path), start, end, options)] = next_index
                next_index += 1
            finished, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel.is_set():
                for future in running:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                ordered = [
                    results[i] for i in sorted(results) if all(j in results for j in range(i))
                ]
                merged = merge(ordered, options.keep)
                merged.cancelled = True
                return merged
            for future in finished:
                index = running.pop(future)
                results[index] = future.result()
                on_bytes(bounds[index][1] - bounds[index][0])
    return merge([results[i] for i in range(len(bounds))], options.keep)
