"""The follower: a detached process that mirrors one hosted job into its run folder until it ends.

    python -m backends.hosted.follower RUN_DIR

Started by ``launch``/``attach`` (``start_follower``), in its own session so
it outlives the UI, the terminal and the SSH connection that started it. The
secret comes through the environment it inherits (the backend's ``child_env``),
never through argv or a file. Exactly one follower runs per run folder: it
holds an exclusive ``flock`` on ``<run>/.lock`` for its whole life, and a
second one exits at once. ``ensure_follower`` restarts a follower that died
before its job ended (the mirror resumes from its cursor without duplicates).

Exit status: 0 the job ended (or another follower owns the run), 1 following
stopped on a permanent error (explained in ``status.json`` and ``log.txt``),
2 usage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from backends import registry
from backends.files import keep_private
from backends.hosted.errors import HostedError
from backends.processes import (
    LockHeld,
    RunLock,
    is_locked,
    pid_alive,
    python_module_argv,
    spawn_detached,
)
from backends.runs import RunFolder

MODULE = "backends.hosted.follower"
SPAWN_GRACE_S = 10.0
"""A follower spawned this recently may still be starting: do not spawn another."""


def follower_alive(folder: RunFolder) -> bool:
    """Whether a follower holds this run's lock right now."""
    return is_locked(folder.lock_path)


def start_follower(
    folder: RunFolder,
    *,
    secret: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached follower for ``folder``; its output is appended to ``log.txt``."""
    backend: Any = registry.reconnect(folder, secret=secret)  # hosted: child_env
    child_env = backend.child_env(env)
    # Written before the child exists: from here on only the follower writes status.json.
    folder.update_status(extra={"follower_spawned_at": time.time()})
    return spawn_detached(
        python_module_argv(MODULE, str(folder.path.resolve())),
        log_path=folder.log_txt,
        env=child_env,
        cwd=folder.path,
    )


def ensure_follower(
    folder: RunFolder,
    *,
    secret: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes] | None:
    """Restart the follower of a hosted run whose job had not ended; ``None`` when none is needed."""
    status = folder.read_status()
    if not status.job_id or status.state.is_terminal or follower_alive(folder):
        return None
    spawned = status.extra.get("follower_spawned_at")
    starting = isinstance(spawned, (int, float)) and 0 <= time.time() - spawned < SPAWN_GRACE_S
    if starting and (status.pid is None or pid_alive(status.pid)):
        return None  # spawned moments ago and not known dead: let it take the lock
    folder.log("Follower was not running: restarting it to catch up with the job.")
    return start_follower(folder, secret=secret, env=env)


def run_follower(run_dir: Path, *, stop: threading.Event | None = None) -> int:
    """The follower's body (also callable in-process): lock, follow, release."""
    folder = RunFolder(run_dir)
    if not folder.exists():
        print(f"follower: no run folder at {run_dir}", file=sys.stderr)
        return 2
    lock = RunLock(folder.lock_path)
    try:
        lock.acquire(wait=0.5)
    except LockHeld:
        return 0
    stop = stop or threading.Event()
    try:
        status = folder.read_status()
        if not status.job_id:
            folder.log("Follower: this run has no job id yet; nothing to follow.")
            return 2
        folder.update_status(pid=os.getpid())
        folder.log(f"Follower {os.getpid()} following job {status.job_id}.")
        try:
            state = registry.reconnect(folder).follow(folder, stop=stop)
        except HostedError:
            return 1  # explained in status.json and log.txt by follow()
        recorded = folder.read_status().state
        if recorded.is_terminal:  # what status.json says, whatever stopped the follower
            folder.log(f"Job {status.job_id} ended: {recorded.value}.")
        else:
            folder.log(f"Follower {os.getpid()} stopped; the job goes on ({state.value}).")
        return 0
    finally:
        if folder.read_status().pid == os.getpid():
            folder.update_status(pid=None)
        lock.release()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m backends.hosted.follower RUN_DIR", file=sys.stderr)
        return 2
    keep_private()
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)
    return run_follower(Path(args[0]), stop=stop)


if __name__ == "__main__":
    sys.exit(main())
