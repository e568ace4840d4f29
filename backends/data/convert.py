"""Writing new dataset files: conversion to chat format and a train/validation split.

Both only ever create files: an existing target is refused, never replaced.
The output is streamed to a temporary file in the target's folder and moved
into place at the end, so a reader never sees half a file and a failure
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from backends.data.findings import Finding
from backends.data.formats import (
    ConversionError,
    DataFormat,
    apply_column_mapping,
    detect_format,
    to_chat,
)
from backends.data.reader import BOM, iter_lines, probe_file


class TargetExists(FileExistsError):
    pass


@contextlib.contextmanager
def create_new(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file that becomes ``path`` on success; refuse if ``path`` exists."""
    path = Path(path)
    if path.exists():
        raise TargetExists(f"{path} already exists: choose another name (it is never overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if path appeared meanwhile: no clobbering
        except FileExistsError:
            raise TargetExists(f"{path} appeared while writing: left untouched") from None
        except OSError:  # file systems without hard links
            if path.exists():
                raise TargetExists(f"{path} already exists") from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@dataclass
class WriteResult:
    written: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line, why) for lines not written; the first 100."""
    skipped_count: int = 0
    formats: dict[str, int] = field(default_factory=dict)

    def skip(self, line: int, why: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < 100:
            self.skipped.append((line, why))


def convert_to_chat(
    source: str | Path,
    target: str | Path,
    system: str | None = None,
    column_mapping: dict[str, str] | None = None,
    bom: bool = False,
    cancel: threading.Event | None = None,
) -> WriteResult:
    """Write ``target`` with every example of ``source`` in chat format.

    Prompt/completion, Alpaca and ShareGPT examples are converted, chat
    examples copied; lines that cannot be read or converted are skipped and
    listed. ``system`` adds a system message to converted examples.
    """
    source, target = Path(source), Path(target)
    probe = probe_file(source)
    if probe.fatal:
        raise ValueError("; ".join(f.message for f in probe.findings))
    result = WriteResult()
    items: Iterator[tuple[int, Any, Finding | None]]
    if probe.array_items is not None:
        items = ((i + 1, value, None) for i, value in enumerate(probe.array_items))
    else:
        items = ((p.line, p.value, p.finding) for p in iter_lines(source))
    with create_new(target) as out:
        if bom:
            out.write(BOM)
        for line, value, finding in items:
            if cancel is not None and line % 1000 == 0 and cancel.is_set():
                raise InterruptedError("conversion cancelled; nothing was written")
            if finding is not None:
                if finding.code != "blank_line":
                    result.skip(line, finding.message)
                continue
            if not isinstance(value, dict):
                result.skip(line, "not a JSON object")
                continue
            value = apply_column_mapping(value, column_mapping or {})
            fmt = detect_format(value)
            result.formats[fmt.value] = result.formats.get(fmt.value, 0) + 1
            try:
                chat = value if fmt is DataFormat.CHAT else to_chat(value, fmt, system)
            except ConversionError as exc:
                result.skip(line, str(exc))
                continue
            out.write(orjson.dumps(chat) + b"\n")
            result.written += 1
    return result


@dataclass
class SplitResult:
    train: Path
    validation: Path
    train_examples: int
    validation_examples: int


def default_split_names(source: Path) -> tuple[Path, Path]:
    stem = source.name.removesuffix(".jsonl").removesuffix(".json")
    return source.with_name(f"{stem}.train.jsonl"), source.with_name(f"{stem}.valid.jsonl")


def split_file(
    source: str | Path,
    fraction: float,
    seed: int = 0,
    train: str | Path | None = None,
    validation: str | Path | None = None,
) -> SplitResult:
    """Copy the non-blank lines of ``source`` into a train and a validation file.

    ``round(n × fraction)`` lines (at least 1) go to validation, chosen by a
    ``random.Random(seed)``: the same file and seed give the same split.
    Lines are copied byte for byte (a leading BOM is kept on both files).
    """
    source = Path(source)
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be between 0 and 1, not {fraction}")
    default_train, default_valid = default_split_names(source)
    train_path = Path(train) if train else default_train
    valid_path = Path(validation) if validation else default_valid
    for path in (train_path, valid_path):
        if path.exists():
            raise TargetExists(
                f"{path} already exists: choose another name (it is never overwritten)"
            )
    has_bom = probe_file(source).has_bom
    n = sum(1 for _ in _nonblank_lines(source))
    if n < 2:
        raise ValueError(f"{source} has {n} example(s): too few to split")
    k = min(n - 1, max(1, round(n * fraction)))
    chosen = set(random.Random(seed).sample(range(n), k))
    with create_new(train_path) as train_out, create_new(valid_path) as valid_out:
        if has_bom:
            train_out.write(BOM)
            valid_out.write(BOM)
        for index, raw in enumerate(_nonblank_lines(source)):
            line = raw if raw.endswith(b"\n") else raw + b"\n"
            (valid_out if index in chosen else train_out).write(line)
    return SplitResult(train_path, valid_path, n - k, k)


def _nonblank_lines(source: Path) -> Iterator[bytes]:
    with open(source, "rb") as handle:
        for number, raw in enumerate(handle):
            if number == 0 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            if raw.strip():
                yield raw
