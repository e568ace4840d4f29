"""How a file is scanned: by this process alone, or with worker processes, how many, and in
chunks of what size. Workers pay only on a file big enough and on CPUs no other work keeps busy.
"""

from __future__ import annotations

import os
import threading
import time

PARALLEL_MIN_BYTES = 8 * 1024 * 1024
"""From this size a file is scanned by forked workers too (see ``plan_workers``): starting
them costs ~30 ms of CPU (the pool, its imports, the fork), about what they save on 4 MB."""
SPAWN_MIN_BYTES = 16 * 1024 * 1024
"""The same where workers must be spawned (each re-imports the scanner, ~0.3 s)."""
CHUNK_BYTES = 4 * 1024 * 1024
MIN_CHUNK_BYTES = 1024 * 1024


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def free_cpus() -> int:
    """The CPUs a scan can have now: those no other work is running on, at least 1. On a
    machine kept busy by other work, workers would share the same CPUs and only add their
    cost (~10% more CPU time); ``make -l`` reasons the same way."""
    cpus = available_cpus()
    busy = busy_elsewhere()
    if busy is None:
        return cpus
    return max(1, min(cpus, round(cpus - busy)))


def busy_elsewhere() -> float | None:
    """How many CPUs other work keeps busy now. On Linux, the runnable tasks the kernel
    counts at this moment (``/proc/loadavg``'s 4th field, this process included), the
    fewest of a few looks 2 ms apart so that a passing task is not taken for load. The
    1-minute load average lags: right after another command ended it still shows that
    command's load. Elsewhere that average, less this process's own share; None where the
    system says nothing."""
    counts = []
    for look in range(5):
        if look:
            time.sleep(0.002)
        running = runnable_now()
        if running is None:
            break
        counts.append(running - 1)
    if counts:
        return float(max(0, min(counts)))
    try:
        return max(0.0, os.getloadavg()[0] - 1)
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return None


def runnable_now() -> int | None:
    """The tasks running or ready to run at this moment (Linux), None where unknown."""
    try:
        with open("/proc/loadavg", "rb") as handle:
            return int(handle.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def plan_workers(size: int, workers: int | None) -> int:
    """How many processes scan a ``size``-byte file (this one included): 1 below the size
    where starting workers pays (forked workers start in ~10 ms, spawned ones re-import
    everything), else ``workers`` (default: one per CPU the load leaves free), at most one
    per chunk."""
    if size < PARALLEL_MIN_BYTES:
        return 1
    wanted = workers if workers is not None else free_cpus()
    if wanted <= 1:
        return 1
    if size < SPAWN_MIN_BYTES and not can_fork():
        return 1
    return max(1, min(wanted, size // MIN_CHUNK_BYTES))


def can_fork() -> bool:
    """fork is safe only while this process has one thread (the UI has threads, and fork
    would copy their held locks)."""
    import multiprocessing

    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def chunk_size(size: int, workers: int) -> int:
    """Small enough that the processes finish together (each takes ~16 chunks), big enough
    that handing one out costs nothing next to scanning it."""
    return max(MIN_CHUNK_BYTES, min(CHUNK_BYTES, size // (16 * workers)))
