"""Writing files so that a reader never sees half of one.

JSON documents are written to a temporary file in the same folder, flushed to
disk and renamed over the target (``os.replace`` is atomic on POSIX and
Windows). Append-only logs are written one whole line per ``write`` call.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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


def keep_private() -> None:
    """Make what this process creates from now on private (umask 077): folders 0700, files 0600.

    Called first thing by the processes that write into a run folder (the local worker, the
    hosted follower, the merge) so that files written by libraries (a trainer's checkpoints)
    follow the workspace's rule too.
    """
    os.umask(0o077)


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
        before = os.fstat(fd).st_size
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
        except OSError:
            # Part of the lines went in (a full disk takes what fits in a block): take it out
            # again, unless another writer appended since, so no line is cut and glued to the next.
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_size == before + len(data) - len(view):
                    os.ftruncate(fd, before)
            raise
    finally:
        os.close(fd)


_ERRNO_WORDS = {
    errno.ENOSPC: "disk full (no space left on the device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.ENOTDIR: "a file is where a folder should be",
    errno.EEXIST: "a file is already there where a folder should be",
    errno.EISDIR: "a folder is where a file should be",
    errno.ENOENT: "does not exist",
}


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is the disk (or the quota) running out of space."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_problem(error: OSError) -> str:
    """``Cannot write /ws/runs: read-only file system``: an ``OSError`` in words, with its path."""
    words = _ERRNO_WORDS.get(error.errno or 0) or (error.strerror or str(error)).lower()
    path = error.filename if error.filename is not None else None
    where = f" {path}" if path is not None else ""
    return f"Cannot use{where}: {words}."


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (or become) a folder to write in, or ``None``.

    ``/ws/runs is a file, not a folder`` (or a parent of it is); a missing folder is fine
    (it is made when needed).
    """
    for folder in (path, *path.parents):
        if folder.is_dir():
            return None
        if folder.exists() or folder.is_symlink():
            return f"{folder} is {'a file' if folder.is_file() else _kind(folder.lstat().st_mode)}, not a folder."
    return None


MAX_SETTINGS_BYTES = 4 << 20
"""Larger than any settings file a person writes: a bigger one is not one."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path: Path, *, max_bytes: int = MAX_SETTINGS_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    ``ValueError`` says why not for a folder, a FIFO, a device (``/dev/zero``) or a file too
    large; opened without blocking, so a FIFO with no writer never hangs the caller.
    ``OSError`` (missing, no permission) comes from the system.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{path} is {info.st_size:,} bytes; at most {max_bytes:,} are read")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes:,} bytes")
    return data


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


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    import hashlib  # not needed to draw the first screen

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
