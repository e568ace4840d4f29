"""The detached worker, for real, on the tiny model: train, save now, cancel, resume, die, refuse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backends.backend import BackendError
from backends.local.backend import LocalBackend, cancel, save_now
from backends.local.memory import GpuInventory
from backends.local.settings import LocalSettings
from backends.local.worker import run_worker
from backends.preflight import preflight
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.support.helpers import PATIENCE_S, wait_for
from tests.support.runs import ended
from tests.support.tiny_model import write_toy_dataset

ROOT = Path(__file__).resolve().parents[3]
NO_GPU = GpuInventory((), "", "no GPU in tests")


def _spec(model: Path, data: Path, **changes: object) -> object:
    base = {
        "batch_size": 4,
        "lora_r": 4,
        "lora_alpha": 8,
        "learning_rate": 1e-2,
        "save_steps": 1000,
    }
    settings = LocalSettings(**{**base, **changes})  # type: ignore[arg-type]
    return settings.to_spec(model=str(model), dataset=str(data))


def _points_after(folder: RunFolder, count: int) -> object:
    return wait_for(lambda: len(folder.load_metrics()) >= count and folder.load_metrics())


def _log(folder: RunFolder) -> str:
    return folder.log_txt.read_text(errors="replace")


@pytest.mark.slow
def test_a_run_started_from_the_cli_trains_after_the_cli_is_killed(
    tiny_model: Path, toy_data: Path, tmp_path: Path, reap: list[RunFolder]
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tui.cli", "--workspace", str(tmp_path / "ws"), "train"]
    argv += ["--backend", "local", "--model", str(tiny_model), "--data", str(toy_data)]
    argv += ["--max-steps", "30", "--batch-size", "4", "--lora-r", "4", "--lr", "0.01"]
    cli = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert cli.stdout is not None
    run_id = cli.stdout.readline().strip()
    cli.kill()  # the terminal goes away; the worker is in its own session
    cli.wait()
    folder = RunStore(tmp_path / "ws" / "runs").folder(run_id)
    reap.append(folder)
    wait_for(lambda: ended(folder))
    status = folder.read_status()
    assert status.state is RunState.SUCCEEDED, _log(folder)
    points = folder.load_metrics()
    assert [p.step for p in points] == list(range(1, 31))
    assert points[-1].total_steps == 30 and points[-1].tokens_per_s
    first = sum(p.train_loss or 0 for p in points[:5]) / 5
    last = sum(p.train_loss or 0 for p in points[-5:]) / 5
    assert last < first - 0.3, (first, last)  # the toy data is learnable
    assert points[-1].train_mean_token_accuracy is not None
    assert (folder.output_dir / "adapter" / "adapter_config.json").is_file()
    assert status.result_files == (str(folder.output_dir / "adapter"),)


@pytest.mark.slow
def test_save_now_then_cancel_then_resume(
    tiny_model: Path, toy_data: Path, store: RunStore, reap: list[RunFolder]
) -> None:
    backend = LocalBackend(inventory=NO_GPU)
    folder = backend.launch(_spec(tiny_model, toy_data, max_steps=400), store)  # type: ignore[arg-type]
    reap.append(folder)
    _points_after(folder, 3)
    save_now(folder)
    wait_for(lambda: "Saved a checkpoint on request" in _log(folder))
    assert folder.read_status().state is RunState.RUNNING  # it keeps training
    cancel(folder)
    wait_for(lambda: ended(folder))
    status = folder.read_status()
    assert status.state is RunState.CANCELLED, _log(folder)
    stopped_at = folder.load_metrics()[-1].step
    assert stopped_at < 400
    assert len(status.checkpoints) == 2
    assert status.checkpoints[-1]["step"] == stopped_at
    assert (folder.output_dir / "adapter" / "adapter_config.json").is_file()
    assert "Cancel requested (SIGTERM)" in _log(folder)

    backend.resume(folder)
    wait_for(lambda: ended(folder))
    assert folder.read_status().state is RunState.SUCCEEDED, _log(folder)
    steps = [p.step for p in folder.load_metrics()]
    assert steps == list(range(1, 401))  # one history, no step twice
    assert f"Resuming at step {stopped_at}" in _log(folder)


@pytest.mark.slow
def test_a_killed_worker_reads_as_failed_with_advice(
    tiny_model: Path, toy_data: Path, store: RunStore, reap: list[RunFolder]
) -> None:
    folder = LocalBackend(inventory=NO_GPU).launch(
        _spec(tiny_model, toy_data, max_steps=5000),  # type: ignore[arg-type]
        store,
    )
    reap.append(folder)
    _points_after(folder, 2)
    pid = folder.read_status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    status = wait_for(lambda: (s := folder.effective_status()).state is RunState.FAILED and s)
    assert f"process {pid} is not running" in status.error  # type: ignore[attr-defined]
    assert "batch size" in status.error and "resume" in status.error  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match="no running worker"):
        cancel(folder)


def test_bad_rows_fail_the_worker_with_the_lines(
    tiny_model: Path, tmp_path: Path, store: RunStore
) -> None:
    data = write_toy_dataset(tmp_path / "bad.jsonl", count=8, bad_lines={5: b"{not json"})
    checked = preflight(LocalBackend(inventory=NO_GPU), _spec(tiny_model, data))
    assert checked.data_blocked
    assert any(p.fatal and "line 5" in p.message for p in checked.problems)
    folder = store.create(_spec(tiny_model, data))  # type: ignore[arg-type]
    assert run_worker(folder.path) == 1  # in-process: what a worker does with such a file
    status = folder.read_status()
    assert status.state is RunState.FAILED
    assert "line 5" in (status.error or "") and "finetune-tui inspect" in (status.error or "")
    assert status.extra["failure_kind"] == "data"


def test_qlora_without_cuda_is_refused_with_lora_offered(
    tiny_model: Path, toy_data: Path, store: RunStore, tmp_path: Path
) -> None:
    spec = _spec(tiny_model, toy_data, adapter="qlora")
    problems = LocalBackend(inventory=NO_GPU).prepare(spec)  # type: ignore[arg-type]
    refusal = [p for p in problems if p.fatal and p.where == "adapter"]
    assert refusal and "CUDA" in refusal[0].message and "LoRA adapter" in refusal[0].message
    if pytest.importorskip("torch").cuda.is_available():
        pytest.skip("CUDA is here: QLoRA is allowed (the refusal above used a GPU-less inventory)")
    folder = store.create(spec)  # type: ignore[arg-type]
    assert run_worker(folder.path) == 1  # the worker refuses too, whatever the launcher said
    assert "LoRA adapter" in (folder.read_status().error or "")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tui.cli", "--workspace", str(tmp_path / "ws"), "train"]
    argv += ["--backend", "local", "--adapter", "qlora", "--model", str(tiny_model)]
    argv += ["--data", str(toy_data)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=PATIENCE_S)
    assert done.returncode == 2 and "LoRA adapter" in done.stderr


def _finite_everywhere(folder: Path) -> bool:
    from backends.local.training import non_finite_tensors

    return not non_finite_tensors(folder)


@pytest.mark.parametrize("lr", [1e30, 1e308])
def test_a_diverging_run_fails_and_keeps_only_finite_weights(
    tiny_model: Path, toy_data: Path, store: RunStore, lr: float
) -> None:
    spec = _spec(tiny_model, toy_data, learning_rate=lr, max_steps=12, save_steps=1)
    folder = store.create(spec)  # type: ignore[arg-type]
    assert run_worker(folder.path) == 1, _log(folder)
    status = folder.read_status()
    assert status.state is RunState.FAILED
    assert status.extra["failure_kind"] == "diverged"
    error = status.error or ""
    assert "diverged" in error and "--lr" in error and "learning rate" in error
    assert not status.result_files
    assert not (folder.output_dir / "adapter").exists()  # no NaN adapter as the result
    assert not (folder.output_dir / "adapter.partial").exists()
    checkpoints = sorted((folder.output_dir / "checkpoints").glob("checkpoint-*"))
    for checkpoint in checkpoints:  # whatever was kept is finite
        assert _finite_everywhere(checkpoint), checkpoint
    if checkpoints:
        assert f"last finite checkpoint is kept: {checkpoints[-1]}" in error
    points = folder.load_metrics()
    assert all(p.step <= 12 for p in points)
    assert "Training diverged at step" in _log(folder)


def test_resume_never_goes_past_the_planned_steps(trained_run: RunFolder) -> None:
    from backends.runs.table import RunTable

    assert trained_run.recovered_steps() == (8, 8)
    trained_run.update_status(state=RunState.FAILED)  # as a damaged status once read
    with pytest.raises(BackendError, match="already trained all 8 planned steps"):
        LocalBackend(inventory=NO_GPU).resume(trained_run)
    trained_run.update_status(extra={"resume_requested": True})
    assert run_worker(trained_run.path) == 1  # the worker refuses too: no "step 9 of 8"
    assert max(p.step for p in trained_run.load_metrics()) == 8
    trained_run.status_json.write_text("")  # damaged, and no metrics: the checkpoint tells
    trained_run.metrics_jsonl.unlink()
    [row] = RunTable(RunStore(trained_run.path.parent)).rows(0.0)
    assert row.problem and (row.step, row.total_steps) == (8, 8)
