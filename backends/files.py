"""Writing files so that a reader never sees half of one.

JSON documents are written to a temporary file in the same folder, flushed to
disk and renamed over the target (``os.replace`` is atomic on POSIX and
Windows). Append-only logs are written one whole line per ``write`` call.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import orjson


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` in one step; the folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_json_atomic(path: Path, value: object) -> None:
    """Write ``value`` as indented JSON (UTF-8, trailing newline), atomically."""
    write_atomic(path, orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def append_jsonl(path: Path, value: object) -> None:
    """Append one JSON document as one whole line (a single ``write`` call)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps(value) + b"\n"
    with open(path, "ab") as handle:
        handle.write(line)


def free_name(path: Path, suffix: str) -> Path:
    """The first of ``path+suffix``, ``path+suffix.1``, ... that does not exist yet."""
    candidate = path.with_name(path.name + suffix)
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}{suffix}.{counter}")
        counter += 1
    return candidate


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
