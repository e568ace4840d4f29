"""Fixtures for local training: toy data, fast heartbeats, a trained tiny run, reaped workers."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.runs import RunFolder, RunStore
from tests.support.tiny_model import tiny_lora_spec, write_toy_dataset

pytest.importorskip("trl", reason="the [local] extra is not installed")


@pytest.fixture
def toy_data(tmp_path: Path) -> Path:
    return write_toy_dataset(tmp_path / "train.jsonl")


@pytest.fixture(autouse=True)
def fast_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINETUNE_TUI_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("FINETUNE_TUI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


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


@pytest.fixture
def trained_run(tiny_model: Path, toy_data: Path, store: RunStore) -> RunFolder:
    """A succeeded tiny LoRA run (8 steps, trained in this process: a few seconds on a CPU)."""
    from backends.local.worker import run_worker

    folder = store.create(tiny_lora_spec(tiny_model, toy_data))  # type: ignore[arg-type]
    assert run_worker(folder.path) == 0, folder.log_txt.read_text(errors="replace")
    return folder
