"""Reading JSONL line by line, in bounded memory, turning bad bytes into findings.

``iter_lines`` walks a byte range of a file (the whole file, or one chunk of
it for a worker process) and yields each line as a parsed object or as a
finding: blank line, invalid UTF-8 (with the byte offset), invalid JSON (with
orjson's message), BOM. Lines are read with a length cap, so one giant line
cannot exhaust memory.

``probe_file`` looks at the start of a file before the scan: missing,
directory, empty, binary, BOM, a JSON array instead of JSONL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from backends.data.findings import Finding

BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 64 * 1024 * 1024
ARRAY_FILE_MAX_BYTES = 64 * 1024 * 1024
"""A JSON array file up to this size is also parsed, so its items get checked."""
PROBE_BYTES = 64 * 1024
READ_BLOCK = 256 * 1024

_ORJSON_POSITION = re.compile(r"line 1 column (\d+) \(char \d+\)")


@dataclass
class ParsedLine:
    line: int
    offset: int
    value: Any
    """The parsed JSON value; ``None`` when ``finding`` says why there is none."""
    finding: Finding | None = None
    size: int = 0


def _json_message(exc: Exception) -> str:
    return _ORJSON_POSITION.sub(lambda m: f"column {m.group(1)}", str(exc))


def parse_line(raw: bytes, line: int, offset: int, last: bool = False) -> ParsedLine:
    """Parse one line (without its newline): a value, or a finding saying what is wrong."""
    try:
        return ParsedLine(line, offset, orjson.loads(raw), size=len(raw))
    except orjson.JSONDecodeError as exc:
        error = exc
    if not raw.strip():
        return ParsedLine(line, offset, None, Finding("blank_line", line, "Blank line"), len(raw))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        byte = offset + bad.start
        message = f"Byte 0x{raw[bad.start]:02x} at column {bad.start + 1} (file offset {byte}) is not valid UTF-8"
        return ParsedLine(line, offset, None, Finding("invalid_utf8", line, message), len(raw))
    message = _json_message(error)
    if last and not raw.rstrip().endswith((b"}", b"]")):
        message += " (last line: the file may be truncated)"
    return ParsedLine(line, offset, None, Finding("invalid_json", line, message), len(raw))


def _read_line(handle: BinaryIO, limit: int) -> tuple[bytes, int, bool]:
    """(line without newline, bytes consumed, too_long) from ``handle``; b"" at the end."""
    raw = handle.readline(limit)
    consumed = len(raw)
    if raw.endswith(b"\n") or len(raw) < limit:
        return raw.rstrip(b"\r\n"), consumed, False
    # Longer than the cap: skip to the end of this line without keeping it.
    while True:
        piece = handle.readline(1024 * 1024)
        consumed += len(piece)
        if not piece or piece.endswith(b"\n"):
            return b"", consumed, True


def iter_lines(
    path: Path, start: int = 0, end: int | None = None, max_line_bytes: int | None = None
) -> Iterator[ParsedLine]:
    """Parse the lines in bytes ``[start, end)`` (``start`` at a line start); numbers are 1-based from ``start``."""
    max_line_bytes = max_line_bytes or MAX_LINE_BYTES
    size = os.path.getsize(path)
    end = size if end is None else end
    for line, (offset, raw, consumed) in enumerate(
        raw_lines(path, start, end, max_line_bytes), start=1
    ):
        yield parse_raw(raw, line, offset, consumed, size, max_line_bytes)


def parse_raw(
    raw: bytes | None, line: int, offset: int, consumed: int, size: int, max_line_bytes: int
) -> ParsedLine:
    """A line from ``raw_lines`` parsed: its value, or a finding saying what is wrong."""
    if raw is None:
        message = f"Line is {consumed:,} bytes, over the {max_line_bytes // (1024 * 1024)} MB a line may have; skipped"
        return ParsedLine(line, offset, None, Finding("line_too_long", line, message), consumed)
    if offset == 0 and raw.startswith(BOM):
        raw = raw[len(BOM) :]
    return parse_line(raw, line, offset, last=offset + consumed >= size)


def raw_lines(
    path: Path, start: int, end: int, limit: int
) -> Iterator[tuple[int, bytes | None, int]]:
    """(offset, line without its newline or ``None`` when over ``limit``, bytes consumed)
    of each line starting in ``[start, end)``.

    Reads ``READ_BLOCK`` bytes at a time and splits them (a ``readline`` per
    line costs more than parsing some lines); a line without a newline in its
    block (a long line, or the last one) goes through ``_read_line``, which
    caps what it keeps.
    """
    with open(path, "rb") as handle:
        offset = start
        while offset < end:
            handle.seek(offset)
            pieces = handle.read(READ_BLOCK).split(b"\n")
            if len(pieces) == 1:
                handle.seek(offset)
                raw, consumed, too_long = _read_line(handle, limit)
                if consumed == 0:
                    return
                yield offset, None if too_long else raw, consumed
                offset += consumed
                continue
            pieces.pop()  # the line the block ends in: read whole with the next block
            for piece in pieces:
                if offset >= end:
                    return
                consumed = len(piece) + 1
                yield offset, None if consumed > limit else piece.rstrip(b"\r"), consumed
                offset += consumed


def read_example_at(path: Path, offset: int, max_bytes: int | None = None) -> Any:
    """The JSON value of the line starting at byte ``offset`` (``DatasetReport.example_offsets``)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        raw, _consumed, too_long = _read_line(handle, max_bytes or MAX_LINE_BYTES)
    if too_long:
        raise ValueError(
            f"the line at byte {offset} is longer than {max_bytes or MAX_LINE_BYTES:,} bytes"
        )
    return orjson.loads(raw.removeprefix(BOM))


def chunk_bounds(path: Path, chunk_bytes: int) -> list[tuple[int, int]]:
    """Split a file into byte ranges of about ``chunk_bytes`` that start at line starts."""
    size = os.path.getsize(path)
    bounds: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as handle:
        while start < size:
            target = start + chunk_bytes
            if target >= size:
                bounds.append((start, size))
                break
            handle.seek(target)
            while True:
                piece = handle.readline(1024 * 1024)
                target += len(piece)
                if not piece or piece.endswith(b"\n"):
                    break
            end = min(target, size)
            bounds.append((start, end))
            start = end
    return bounds


@dataclass
class FileProbe:
    size: int = 0
    has_bom: bool = False
    findings: tuple[Finding, ...] = ()
    fatal: bool = False
    """Nothing more can be read from this file (missing, directory, binary, array...)."""
    array_items: list[Any] | None = None
    """The items when the file is one JSON array small enough to check."""


def probe_file(path: Path) -> FileProbe:
    """The whole-file checks made before reading line by line."""
    name = str(path)
    if not path.exists():
        return FileProbe(
            findings=(Finding("missing_file", None, f"{name} does not exist"),), fatal=True
        )
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file"
        return FileProbe(findings=(Finding("not_a_file", None, f"{name} is {what}"),), fatal=True)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(PROBE_BYTES)
    except OSError as exc:
        return FileProbe(
            findings=(Finding("unreadable_file", None, f"{name}: {exc.strerror or exc}"),),
            fatal=True,
        )
    has_bom = head.startswith(BOM)
    body = head[len(BOM) :] if has_bom else head
    if not body.strip() and size <= PROBE_BYTES:
        return FileProbe(
            size, has_bom, (Finding("empty_file", None, f"{name} has no examples"),), fatal=True
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = (
            f"{name} is UTF-16 encoded (byte-order mark {head[:2].hex(' ')}): re-save it as UTF-8"
        )
        return FileProbe(size, has_bom, (Finding("invalid_utf8", None, message),), fatal=True)
    if b"\x00" in head:
        at = head.index(b"\x00")
        message = f"{name} contains NUL bytes (first at offset {at}): it is binary, not JSONL text"
        return FileProbe(size, has_bom, (Finding("binary_file", None, message),), fatal=True)
    if body.lstrip().startswith(b"["):
        array = _probe_array(path, size, has_bom)
        if array is not None:
            return array
    return FileProbe(size, has_bom)


def _probe_array(path: Path, size: int, has_bom: bool) -> FileProbe | None:
    """A FileProbe when the file is one JSON array, ``None`` when it is JSONL after all."""
    with open(path, "rb") as handle:
        first = handle.readline(PROBE_BYTES).strip().removeprefix(BOM)
    try:
        first_value = orjson.loads(first)
    except orjson.JSONDecodeError:
        first_value = None
    if isinstance(first_value, list) and size > len(first) + 2:
        return None  # a JSONL file whose lines are arrays: not_an_object per line
    message = f"{path} is one JSON array, not JSON Lines"
    if size > ARRAY_FILE_MAX_BYTES:
        return FileProbe(
            size,
            has_bom,
            (Finding("json_array_file", None, message + "; too large to check its items"),),
            fatal=True,
        )
    try:
        value = orjson.loads(path.read_bytes().removeprefix(BOM))
    except orjson.JSONDecodeError as exc:
        if first_value is None and first.startswith(b"[") and not first.endswith(b"]"):
            text = f"{message}, and it is not valid JSON: {_json_message(exc)}"
            return FileProbe(size, has_bom, (Finding("json_array_file", None, text),), fatal=True)
        return None
    if not isinstance(value, list):
        return None
    text = f"{message}; its {len(value):,} items are checked below, numbered as lines"
    return FileProbe(size, has_bom, (Finding("json_array_file", None, text),), array_items=value)
