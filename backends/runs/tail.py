"""Reading files that another process is appending to, touching only the new bytes.

A tail remembers the byte offset of the end of the last *complete* line it
returned. Each ``read`` stats the file, reads from that offset to the end, and
hands back whole lines only: a trailing partial line (the writer is halfway
through a ``write``) stays on disk until its newline arrives. Cost is
proportional to what was appended, never to the size of the file, so a
monitor polling a 100,000-point ``metrics.jsonl`` pays for the history once.

A file that shrank or was replaced (new inode) is read again from the start;
``resets`` counts how often that happened so a viewer can clear what it drew.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from backends.runs.values import MetricPoint
from backends.text import printable

_CHUNK = 1 << 16


class LineTail:
    """Complete lines appended to ``path`` since the last ``read_lines``."""

    def __init__(self, path: Path, *, offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self.resets = 0
        self._inode: int | None = None

    def read_lines(self) -> list[bytes]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return []
        if (self._inode is not None and stat.st_ino != self._inode) or stat.st_size < self.offset:
            self.offset = 0
            self.resets += 1
        self._inode = stat.st_ino
        if stat.st_size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(stat.st_size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        lines = data[:end].split(b"\n")
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def unfinished_bytes(self) -> int:
        """Bytes after the last complete line: a line being written, or (once its writer is
        gone) a last line cut short."""
        try:
            return max(0, os.stat(self.path).st_size - self.offset)
        except OSError:
            return 0


class JsonlTail(LineTail):
    """New JSON documents from an append-only JSONL file; undecodable lines are counted, not raised."""

    def __init__(self, path: Path, *, offset: int = 0) -> None:
        super().__init__(path, offset=offset)
        self.bad_lines = 0

    def read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        loads = orjson.loads
        for line in self.read_lines():
            if not line:
                continue
            try:
                value = loads(line)
            except orjson.JSONDecodeError:
                self.bad_lines += 1
                continue
            if isinstance(value, dict):
                records.append(value)
            else:
                self.bad_lines += 1
        return records


class MetricsTail(JsonlTail):
    """New ``MetricPoint``s from ``metrics.jsonl``."""

    def read_points(self) -> list[MetricPoint]:
        """New points; a line of the wrong shape (``{"step": "x"}``) is counted in ``bad_lines``."""
        from_dict = MetricPoint.from_dict
        points: list[MetricPoint] = []
        for record in self.read():
            try:
                points.append(from_dict(record))
            except (ValueError, TypeError):
                self.bad_lines += 1
        return points

    def note(self, *, ended: bool = True) -> str | None:
        """What of ``metrics.jsonl`` was passed over (``None``: nothing); a last line with no
        end counts only once its writer is done (``ended``): before, it is being written."""
        return metrics_note(self.bad_lines, cut_short=ended and self.unfinished_bytes() > 0)


def metrics_note(bad_lines: int, *, cut_short: bool) -> str | None:
    """``metrics.jsonl: 2 damaged line(s) passed over; its last line is cut short (ignored)``."""
    parts = []
    if bad_lines:
        parts.append(f"{bad_lines} damaged line(s) passed over")
    if cut_short:
        parts.append("its last line is cut short (ignored)")
    return "metrics.jsonl: " + "; ".join(parts) if parts else None


class TextTail(LineTail):
    """New lines of a text log, decoded (undecodable bytes replaced, control characters shown)."""

    def read_text_lines(self) -> list[str]:
        return [printable(line.decode("utf-8", errors="replace")) for line in self.read_lines()]


def read_last_bytes(path: Path, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` from the end of ``path`` (empty when missing)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            start = max(0, size - max_bytes)
            handle.seek(start)
            return handle.read(size - start)
    except FileNotFoundError:
        return b""


def last_lines(path: Path, count: int, *, max_bytes: int = 1 << 20) -> list[str]:
    """The last ``count`` complete lines of a text file, reading only its end."""
    if count <= 0:
        return []
    data = read_last_bytes(path, max_bytes)
    end = data.rfind(b"\n")
    if end < 0:
        return []
    lines = data[:end].split(b"\n")
    if len(data) == max_bytes and len(lines) > count:
        lines = lines[1:]  # the first one may be cut
    return [
        printable(line.decode("utf-8", errors="replace").rstrip("\r")) for line in lines[-count:]
    ]


def _end_of_last_line(handle: Any, size: int, chunk: int) -> int:
    """Offset just past the last newline of an open file (0 when it has none)."""
    position = size
    while position > 0:
        start = max(0, position - chunk)
        handle.seek(start)
        block = handle.read(position - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def iter_records_backwards(path: Path, *, chunk: int = _CHUNK) -> Iterator[dict[str, Any]]:
    """JSONL records from the last complete line towards the first, read in chunks from the end.

    A trailing line without its newline (being written) is not a record yet.
    """
    try:
        with open(path, "rb") as handle:
            yield from _records_backwards(handle, chunk)
    except FileNotFoundError:
        return


def _records_backwards(handle: Any, chunk: int) -> Iterator[dict[str, Any]]:
    handle.seek(0, os.SEEK_END)
    position = _end_of_last_line(handle, handle.tell(), chunk)
    carry = b""
    while position > 0:
        start = max(0, position - chunk)
        handle.seek(start)
        block = handle.read(position - start) + carry
        position = start
        lines = block.split(b"\n")
        carry = lines.pop(0) if position > 0 else b""
        for line in reversed(lines):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                yield value


def last_record(path: Path) -> dict[str, Any] | None:
    """The last complete JSONL record of ``path``, reading only its end."""
    return next(iter_records_backwards(path), None)
