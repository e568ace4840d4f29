"""Full and read-only disks, files where folders should be: said in words, lines kept whole."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import backends.runs.store as store_module
from backends.files import append_private, disk_problem, folder_problem
from backends.runs import RunStore
from backends.runs.values import RunState
from tests.support.runs import local_spec


def test_a_line_cut_by_a_full_disk_is_taken_out_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log.txt"
    append_private(log, b"first line\n")
    real_write = os.write
    full = {"now": False}

    def full_after_a_block(fd: int, data: bytes) -> int:
        if full["now"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(data) > 4096:  # what fits in the last free block goes in; then the disk is full
            full["now"] = True
            return real_write(fd, bytes(data[:4096]))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_after_a_block)
    with pytest.raises(OSError) as caught:
        append_private(log, b"x" * 10_000 + b"\n")
    assert "disk full" in disk_problem(caught.value)
    full["now"] = False  # space again
    append_private(log, b"next line\n")
    assert log.read_bytes() == b"first line\nnext line\n"  # nothing cut and glued


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "ws").write_text("x")
    assert folder_problem(tmp_path / "ws" / "runs") == f"{tmp_path / 'ws'} is a file, not a folder."
    assert RunStore(tmp_path / "ws" / "runs").problem()
    assert folder_problem(tmp_path / "new" / "runs") is None  # made when needed


def test_disk_problem_names_the_path() -> None:
    error = OSError(errno.EROFS, "Read-only file system", "/ws/runs")
    assert disk_problem(error) == "Cannot use /ws/runs: read-only file system."


def test_a_worker_that_died_on_a_full_disk_is_not_called_out_of_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path / "runs")
    folder = store.create(local_spec())
    folder.update_status(
        state=RunState.RUNNING, pid=2**22 + 7, extra={"if_stopped": "maybe out of memory"}
    )
    monkeypatch.setattr(store_module, "free_bytes", lambda path: 1024)
    status = folder.effective_status(now=folder.read_status().heartbeat_at or 0.0 + 1e6)
    assert status.state is RunState.FAILED
    assert "is full (1,024 bytes free)" in (status.error or "")
    assert "out of memory" not in (status.error or "")
