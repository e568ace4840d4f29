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
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from backends.data.findings import Finding
from backends.data.formats import (
    FORMAT_LABELS,
    ConversionError,
    DataFormat,
    apply_column_mapping,
    detect_format,
    to_chat,
)
from backends.data.reader import BOM, iter_lines, probe_file
from backends.files import sha256_of


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


RecordConverter = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""One example in the wanted layout; ``None``: it is already in one; ``ConversionError``: it
cannot be converted (the message says which field and why)."""


@dataclass
class ConvertedFile:
    """A file written for a provider that does not take the source's format."""

    source: Path
    path: Path
    result: WriteResult
    reused: bool = False
    """An earlier conversion of the same file, byte for byte the same, was found and kept."""

    def describe(self, what: str) -> list[str]:
        """What was done, in lines for the preview, the run log and the CLI."""
        formats = ", ".join(
            f"{count:,} {FORMAT_LABELS[DataFormat(fmt)]}"
            for fmt, count in sorted(self.result.formats.items())
        )
        verb = "Converted earlier" if self.reused else "Converted"
        lines = [
            f"{verb}: {self.source.name} ({formats}) for {what}, "
            f"{self.result.written:,} examples in {self.path} (your file is unchanged)."
        ]
        if self.result.skipped_count:
            lines.append(
                f"Skipped {self.result.skipped_count:,} line"
                f"{'s' if self.result.skipped_count != 1 else ''} of {self.source.name}:"
            )
            lines += [f"  line {line}: {why}" for line, why in self.result.skipped[:5]]
            if self.result.skipped_count > 5:
                lines.append(f"  … and {self.result.skipped_count - 5:,} more.")
        return lines


class NothingConverted(ValueError):
    """Not one example of the file could be converted; the message names file and lines."""


def needs_conversion(source: str | Path, convert: RecordConverter) -> bool:
    """Some example of ``source`` is in a layout ``convert`` turns into the wanted one.

    Examples it refuses do not count: a file none of whose examples convert is left to the
    inspection, which names each line and its fix."""
    for _line, value, finding in _records(Path(source)):
        if finding is not None or not isinstance(value, dict):
            continue
        try:
            if convert(value) is not None:
                return True
        except ConversionError:
            continue
    return False


def _records(source: Path) -> Iterator[tuple[int, Any, Finding | None]]:
    probe = probe_file(source)
    if probe.fatal:
        raise ValueError("; ".join(f.message for f in probe.findings))
    if probe.array_items is not None:
        return ((i + 1, value, None) for i, value in enumerate(probe.array_items))
    return ((p.line, p.value, p.finding) for p in iter_lines(source))


def convert_records(
    source: str | Path, target: str | Path, convert: RecordConverter
) -> WriteResult:
    """Write ``target`` (a new file: ``TargetExists`` if it is there) with every example of
    ``source`` converted by ``convert`` (kept as it is where it returns ``None``); lines that
    cannot be read or converted are skipped and listed."""
    source, target = Path(source), Path(target)
    result = WriteResult()
    with create_new(target) as out:
        for line, value, finding in _records(source):
            if finding is not None:
                if finding.code != "blank_line":
                    result.skip(line, finding.message)
                continue
            if not isinstance(value, dict):
                result.skip(line, "not a JSON object")
                continue
            fmt = detect_format(value).value
            try:
                converted = convert(value)
            except ConversionError as exc:
                result.skip(line, str(exc))
                continue
            result.formats[fmt] = result.formats.get(fmt, 0) + 1
            out.write(orjson.dumps(value if converted is None else converted) + b"\n")
            result.written += 1
    return result


def convert_to_new_file(
    source: str | Path, suffix: str, convert: RecordConverter, *, folder: Path | None = None
) -> ConvertedFile:
    """Convert ``source`` into ``<stem>.<suffix>.jsonl`` (in ``folder``, else next to it).

    Never overwrites: a file already at that name is kept; when it holds exactly this
    conversion it is reused, otherwise the next free name (``<stem>.<suffix>-2.jsonl``...)
    is written. ``NothingConverted`` when no example could be converted."""
    source = Path(source)
    folder = folder or source.parent
    stem = source.name.removesuffix(".jsonl").removesuffix(".json")
    fd, scratch_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".convert", dir=folder)
    os.close(fd)
    scratch = Path(scratch_name)
    scratch.unlink()
    try:
        result = convert_records(source, scratch, convert)
        if result.written == 0:
            shown = "; ".join(f"line {line}: {why}" for line, why in result.skipped[:3])
            raise NothingConverted(
                f"{source}: no example could be converted" + (f" ({shown})" if shown else "")
            )
        digest = sha256_of(scratch)
        for attempt in range(1, 1000):
            name = f"{stem}.{suffix}.jsonl" if attempt == 1 else f"{stem}.{suffix}-{attempt}.jsonl"
            target = folder / name
            if target.exists():
                if target.is_file() and sha256_of(target) == digest:
                    return ConvertedFile(source, target, result, reused=True)
                continue
            with create_new(target) as out, open(scratch, "rb") as written:
                shutil.copyfileobj(written, out)
            return ConvertedFile(source, target, result)
        raise TargetExists(f"{folder}: no free name for the converted copy of {source.name}")
    finally:
        scratch.unlink(missing_ok=True)


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
