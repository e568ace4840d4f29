"""Fixtures for local training: toy data, fast heartbeats, a trained tiny run, reaped workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.files import private_dir
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


@pytest.fixture(scope="session")
def trained_run_once(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    """A succeeded tiny LoRA run (8 steps, trained in this process), trained once per session."""
    from backends.local.worker import run_worker

    root = tmp_path_factory.mktemp("trained")
    data = write_toy_dataset(root / "train.jsonl")
    folder = RunStore(root / "runs").create(tiny_lora_spec(tiny_model, data))  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FINETUNE_TUI_HEARTBEAT_S", "0.5")
        patch.setenv("FINETUNE_TUI_CACHE", str(root / "cache"))
        patch.setenv("OMP_NUM_THREADS", "1")
        assert run_worker(folder.path) == 0, folder.log_txt.read_text(errors="replace")
    return folder


@pytest.fixture
def trained_run(trained_run_once: RunFolder, store: RunStore) -> RunFolder:
    """A copy of the session's trained run in this test's store: the test may change it freely."""
    private_dir(store.root)
    target = store.root / trained_run_once.run_id
    shutil.copytree(trained_run_once.path, target, ignore=shutil.ignore_patterns(".lock"))
    return store.folder(trained_run_once.run_id)
