"""Processes that outlive the terminal that started them, the lock that keeps them single,
and the JSON-lines talk between a parent and a child process.

A training worker (local) or a job follower (hosted) runs in its own session
(``start_new_session=True``): closing the UI, an SSH drop or Ctrl-C in the
launching terminal does not reach it. Its stdin is ``/dev/null`` and its
stdout/stderr go to a file in the run folder.

``RunLock`` is an ``fcntl.flock`` on a file in the run folder, held for the
process's whole life: the kernel drops it when the process dies, however it
dies, so "is the lock held?" is the most reliable liveness test there is.

A child that does CPU-heavy work for a responsive parent (the dataset scan,
the merge, the local chat) is ``python -m MODULE ARG...`` started with
``start_child``; it answers in JSON lines, one object a line, on its stdout
(``send_to_parent``), and the parent reads them with ``messages_from``
(a line that is not a JSON object, such as a library's print, is skipped).
A child that takes requests reads them with ``messages_from_parent``, which
ends when the parent closes the child's stdin or goes away: the child then
ends. ``stop_on_cancel`` sends SIGTERM once the caller's cancel event is set.
Each child keeps its own message protocol (described in its module).
Once its work is written and said, a child ends with ``exit_now``: the interpreter's
teardown of torch and transformers takes 1-2 s that nobody needs to wait for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

import orjson

_children: list[subprocess.Popen[bytes]] = []
"""Processes we started: kept referenced (no ResourceWarning) and reaped once they end."""


def reap_children() -> None:
    """Collect the exit status of started processes that have ended (no zombies left behind)."""
    _children[:] = [child for child in _children if child.poll() is None]


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)  # the workspace's files are private (backends.files)


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
    with (
        open(os.devnull, "rb") as devnull,
        open(log_path, "ab", opener=_private_opener) as log,
    ):
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


def importable_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ours) with the folder holding ``backends`` first on ``PYTHONPATH``,
    so that ``python -m backends...`` works in a child whatever its working directory."""
    env = dict(os.environ if base is None else base)
    root = str(Path(__file__).resolve().parents[1])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
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


# --- JSON lines between a parent and its child ----------------------------------------------
Message = dict[str, Any]
"""One JSON object: a line of a child's stdout or stdin."""

_stdout_lock = threading.Lock()
"""A child's threads share its stdout: one message at a time."""


def write_message(stream: IO[bytes], message: Mapping[str, Any]) -> None:
    """``message`` as one JSON line on ``stream``, flushed at once."""
    stream.write(orjson.dumps(message) + b"\n")
    stream.flush()


def read_messages(lines: Iterable[bytes]) -> Iterator[Message]:
    """Each JSON object in ``lines``, until they end; any other line is skipped."""
    for raw in lines:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(message, dict):
            yield message


def send_to_parent(message: Mapping[str, Any]) -> None:
    """Child side: one message on this process's stdout (safe from any thread)."""
    with _stdout_lock:
        write_message(sys.stdout.buffer, message)


def exit_now(code: int) -> NoReturn:
    """Child side: end with ``code`` at once, its output flushed, skipping the interpreter's
    teardown (with torch loaded, 1-2 s after the last message). Only for a child whose files
    are all closed: nothing else is flushed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def messages_from_parent() -> Iterator[Message]:
    """Child side: the parent's messages on stdin; ends when the parent closes it or goes away."""
    return read_messages(sys.stdin.buffer)


def start_child(
    module: str,
    *args: str,
    requests: bool = False,
    stderr: int | IO[bytes] = subprocess.PIPE,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``python -m module args...`` with its stdout piped to us (``messages_from``).

    ``requests``: its stdin is a pipe for ``tell``; otherwise /dev/null.
    ``stderr``: piped (read the end with ``stderr_tail``) or a file.
    """
    return subprocess.Popen(
        python_module_argv(module, *args),
        stdin=subprocess.PIPE if requests else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=dict(env) if env is not None else None,
    )


def messages_from(child: subprocess.Popen[bytes]) -> Iterator[Message]:
    """Parent side: the child's messages, until its stdout closes (it ended)."""
    assert child.stdout is not None
    return read_messages(child.stdout)


def tell(child: subprocess.Popen[bytes], message: Mapping[str, Any]) -> None:
    """Parent side: one message on the child's stdin; nothing when it has ended."""
    if child.stdin is None or child.poll() is not None:
        return
    with contextlib.suppress(OSError, ValueError):
        write_message(child.stdin, message)


def stderr_tail(child: subprocess.Popen[bytes]) -> str | None:
    """The last non-blank line of the child's (piped) stderr, read to its end."""
    if child.stderr is None:
        return None
    text = child.stderr.read().decode("utf-8", errors="replace")
    last = [line for line in text.strip().splitlines() if line.strip()][-1:]
    return last[0] if last else None


def stop_on_cancel(
    child: subprocess.Popen[bytes],
    cancel: threading.Event | None,
    *,
    ready: threading.Event | None = None,
) -> None:
    """SIGTERM ``child`` once ``cancel`` is set (after ``ready``: its handler is installed).

    Watches from a daemon thread, which ends with the child.
    """
    if cancel is None:
        return

    def watch() -> None:
        if ready is not None:
            while child.poll() is None and not ready.wait(0.05):
                pass
        while child.poll() is None:
            if cancel.wait(0.1):
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
                return

    threading.Thread(target=watch, name="stop-on-cancel", daemon=True).start()


def lock_holder(path: Path) -> int | None:
    """The pid of the live process holding ``path`` (``RunLock`` writes it there), or ``None``."""
    if not is_locked(path):
        return None
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None
