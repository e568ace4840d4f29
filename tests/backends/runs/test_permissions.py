"""The workspace is private: folders 0700, files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.runs.values import MetricPoint
from tests.support.runs import local_spec, store_at


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_run_folder_is_private(tmp_path: Path, open_umask: None) -> None:
    store = store_at(tmp_path / "ws")
    folder = store.create(local_spec())
    folder.log("hello")
    folder.append_metric(MetricPoint(step=1, train_loss=1.0))
    folder.append_metrics([MetricPoint(step=2, train_loss=0.5)])
    folder.update_status(state="running")
    for path in (tmp_path / "ws", store.root, folder.path, folder.output_dir):
        assert mode(path) == 0o700, path
    for path in (folder.run_json, folder.status_json, folder.log_txt, folder.metrics_jsonl):
        assert mode(path) == 0o600, path


def test_keep_private_sets_the_umask_for_library_writes(tmp_path: Path, open_umask: None) -> None:
    from backends.files import keep_private

    keep_private()
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / "optimizer.pt").write_bytes(b"x")
    assert mode(tmp_path / "checkpoint-5") == 0o700
    assert mode(tmp_path / "checkpoint-5" / "optimizer.pt") == 0o600
