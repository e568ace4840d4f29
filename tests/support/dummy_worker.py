"""A stand-in for the local training worker that keeps the signal contract of ``backends.control``.

    python -m tests.support.dummy_worker RUN_DIR [--interval S] [--steps N]

Holds the run lock, writes its pid and ``running`` to ``status.json``, then
logs one point every ``interval`` seconds. ``SIGTERM``: writes a last log
line, ends ``cancelled``. ``SIGUSR1``: logs a checkpoint save and goes on.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from backends.processes import RunLock
from backends.runs import RunFolder
from backends.runs.values import MetricPoint, RunState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--first", type=int, default=0)
    args = parser.parse_args(argv)
    folder = RunFolder(args.run_dir)
    stop, save = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: save.set())
    with RunLock(folder.lock_path):
        started = time.time()
        folder.update_status(state=RunState.RUNNING, pid=os.getpid(), started_at=started)
        folder.log(f"dummy worker {os.getpid()} training")
        step = args.first
        while step < args.steps and not stop.is_set():
            step += 1
            folder.append_metric(
                MetricPoint(
                    step=step,
                    train_loss=0.5 + 2 / math.sqrt(step),
                    total_steps=args.steps,
                    elapsed=time.time() - started,
                )
            )
            if save.is_set():
                save.clear()
                folder.log(f"Saved checkpoint output/checkpoint-{step}")
            if step % 20 == 0:
                folder.heartbeat()
            stop.wait(args.interval)
        if stop.is_set():
            folder.log(f"Cancelled at step {step}: saved output/checkpoint-{step}")
            folder.update_status(state=RunState.CANCELLED, ended_at=time.time())
        else:
            folder.update_status(state=RunState.SUCCEEDED, ended_at=time.time())
    return 0


if __name__ == "__main__":
    sys.exit(main())
