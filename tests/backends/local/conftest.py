"""Fixtures for local training: a tiny model folder, toy data, a run store, fast heartbeats."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backends.runs import RunFolder, RunStore
from tests.support.tiny_model import build_tiny_model, write_toy_dataset

pytest.importorskip("trl", reason="the [local] extra is not installed")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def toy_data(tmp_path: Path) -> Path:
    return write_toy_dataset(tmp_path / "train.jsonl")


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture(autouse=True)
def fast_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINETUNE_TUI_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("FINETUNE_TUI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, every: float = 0.1) -> object:
    """``predicate()`` once it is truthy; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


@pytest.fixture
def reap() -> Iterator[list[RunFolder]]:
    """Folders whose workers are killed at the end of the test, whatever happened."""
    folders: list[RunFolder] = []
    yield folders
    for folder in folders:
        pid = folder.read_status().pid
        if pid and folder.read_status().state.is_active:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def tiny_lora_spec(model: Path, data: Path, **changes: object) -> object:
    """A LoRA spec on the tiny model that learns the toy data in a few steps."""
    from backends.local.settings import LocalSettings

    base = {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "learning_rate": 1e-2}
    settings = LocalSettings(**{"save_steps": 1000, "max_steps": 8, **base, **changes})  # type: ignore[arg-type]
    return settings.to_spec(model=str(model), dataset=str(data))


@pytest.fixture
def trained_run(tiny_model: Path, toy_data: Path, store: RunStore) -> RunFolder:
    """A succeeded tiny LoRA run (8 steps, trained in this process: a few seconds on a CPU)."""
    from backends.local.worker import run_worker

    folder = store.create(tiny_lora_spec(tiny_model, toy_data))  # type: ignore[arg-type]
    assert run_worker(folder.path) == 0, folder.log_txt.read_text(errors="replace")
    return folder
