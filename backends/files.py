"""Writing files so that a reader never sees half of one.

JSON documents are written to a temporary file in the same folder, flushed to
disk and renamed over the target (``os.replace`` is atomic on POSIX and
Windows). Append-only logs are written one whole line per ``write`` call.
"""

from __future__ import annotations

import contextlib
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


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
"""The workspace's one permission rule: its folders and files are its owner's alone."""


def private_dir(path: Path) -> Path:
    """``path`` and any missing parent made as folders only their owner can enter (0700)."""
    path = Path(path)
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    return path


def append_private(path: Path, data: bytes) -> None:
    """Append ``data`` with one ``write`` per chunk to ``path``, created 0600 in a 0700 folder."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def write_json_atomic(path: Path, value: object) -> None:
    """Write ``value`` as indented JSON (UTF-8, trailing newline), atomically."""
    write_atomic(path, orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def append_jsonl(path: Path, value: object) -> None:
    """Append one JSON document as one whole line (a single ``write`` call), private (0600)."""
    append_private(Path(path), orjson.dumps(value) + b"\n")


def free_name(path: Path, suffix: str) -> Path:
    """The first of ``path+suffix``, ``path+suffix.1``, ... that does not exist yet."""
    candidate = path.with_name(path.name + suffix)
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}{suffix}.{counter}")
        counter += 1
    return candidate
