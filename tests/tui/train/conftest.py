"""Fixtures for the monitor: recorded run folders, a dummy local worker, the hosted emulator."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backends import processes as detached
from backends.processes import python_module_argv, spawn_detached
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.support.helpers import wait_for
from tests.support.runs import local_spec, store_at

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(in_tmp: Path) -> RunStore:
    """The runs of the default workspace (``./.finetune``) of a test's own folder."""
    return store_at(in_tmp / ".finetune")


@pytest.fixture(autouse=True)
def stop_workers() -> Iterator[None]:
    """End any dummy worker a test started and left running."""
    yield
    children = [child for child in detached._children if child.poll() is None]
    for child in children:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
    detached.reap_children()


@pytest.fixture
def start_worker(store: RunStore) -> Callable[..., tuple[RunFolder, subprocess.Popen[bytes]]]:
    """A local run driven by ``tests.support.dummy_worker``, running once this returns.

    The worker's heartbeats are real time: watch it with a real clock, not ``NOW``.
    """

    def start(*args: str) -> tuple[RunFolder, subprocess.Popen[bytes]]:
        # A real process writes real heartbeats: this folder reads the real clock.
        folder = RunStore(store.root).create(local_spec())
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = spawn_detached(
            python_module_argv("tests.support.dummy_worker", str(folder.path), *args),
            log_path=folder.log_txt,
            env=env,
            cwd=ROOT,
        )
        wait_for(lambda: folder.read_status().state is RunState.RUNNING, timeout=10)
        return folder, child

    return start
