"""Processes that outlive the terminal that started them, and the lock that keeps them single.

A training worker (local) or a job follower (hosted) runs in its own session
(``start_new_session=True``): closing the UI, an SSH drop or Ctrl-C in the
launching terminal does not reach it. Its stdin is ``/dev/null`` and its
stdout/stderr go to a file in the run folder.

``RunLock`` is an ``fcntl.flock`` on a file in the run folder, held for the
process's whole life: the kernel drops it when the process dies, however it
dies, so "is the lock held?" is the most reliable liveness test there is.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_children: list[subprocess.Popen[bytes]] = []
"""Processes we started: kept referenced (no ResourceWarning) and reaped once they end."""


def reap_children() -> None:
    """Collect the exit status of started processes that have ended (no zombies left behind)."""
    _children[:] = [child for child in _children if child.poll() is None]


def spawn_detached(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, stdin from /dev/null, stdout+stderr appended to ``log_path``."""
    reap_children()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(os.devnull, "rb") as devnull, open(log_path, "ab") as log:
        child = subprocess.Popen(
            list(argv),
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=str(cwd) if cwd is not None else None,
            start_new_session=True,
            close_fds=True,
        )
    _children.append(child)
    return child


def python_module_argv(module: str, *args: str) -> list[str]:
    """``[sys.executable, "-m", module, *args]``: the same interpreter as ours."""
    return [sys.executable, "-m", module, *args]


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as error:  # pragma: no cover - platform specific
        return error.errno == errno.EPERM
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        text = stat.read_text()
        # "pid (comm) S ...": the state letter follows the last ')'.
        state = text[text.rfind(")") + 2 : text.rfind(")") + 3]
        if state in ("Z", "X"):
            return False
    return True


class LockHeld(Exception):
    """Another live process holds the lock."""


class RunLock:
    """An exclusive ``flock`` on ``path``, for the life of this object (or of the process)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, *, wait: float = 0.0) -> None:
        """Take the lock; retry for ``wait`` seconds, then raise ``LockHeld``.

        A short wait rides out a viewer's probe (``is_locked``), which holds a
        shared lock for a few microseconds.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockHeld(str(self.path)) from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(path: Path) -> bool:
    """Whether some live process holds ``path`` exclusively (never blocks, never creates)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock if we got it
    return False


def lock_holder(path: Path) -> int | None:
    """The pid of the live process holding ``path`` (``RunLock`` writes it there), or ``None``."""
    if not is_locked(path):
        return None
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None
