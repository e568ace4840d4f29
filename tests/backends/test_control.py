"""``backends.control``: what each backend can do, local signals, and a hosted job cancelled for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import control
from backends.backend import BackendError, NotSupported
from backends.control import Action
from backends.local.backend import LocalBackend
from backends.runs import RunStatus, RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import PATIENCE_S, wait_for
from tests.support.runs import hosted_spec, local_spec

RUNNING = RunStatus(state=RunState.RUNNING, pid=1234, job_id=None)


@pytest.mark.parametrize(
    ("backend", "action", "ok"),
    [
        ("local", Action.CANCEL, True),
        ("local", Action.SAVE_NOW, True),
        ("local", Action.PAUSE, False),
        ("local", Action.RESUME, False),
        ("openai", Action.CANCEL, True),
        ("openai", Action.PAUSE, True),
        ("openai", Action.SAVE_NOW, False),
        ("azure", Action.PAUSE, True),
        ("mystery", Action.CANCEL, False),
    ],
)
def test_what_each_backend_supports(backend: str, action: Action, ok: bool) -> None:
    assert control.backend_supports(backend, action).ok is ok


def test_check_follows_the_state() -> None:
    local, hosted = local_spec(), hosted_spec()
    assert control.check(local, RUNNING, Action.CANCEL).ok
    ended = RunStatus(state=RunState.SUCCEEDED, pid=1234)
    assert (
        control.check(local, ended, Action.CANCEL).reason
        == "The run has already ended (succeeded)."
    )
    assert (
        "no worker" in control.check(local, RunStatus(state=RunState.RUNNING), Action.CANCEL).reason
    )
    no_job = control.check(hosted, RunStatus(state=RunState.QUEUED), Action.CANCEL)
    assert not no_job.ok and "no job yet" in no_job.reason
    job = RunStatus(state=RunState.RUNNING, job_id="ftjob-1")
    assert control.check(hosted, job, Action.PAUSE).ok
    assert not control.check(hosted, job, Action.RESUME).ok
    paused = RunStatus(state=RunState.PAUSED, job_id="ftjob-1")
    assert control.check(hosted, paused, Action.RESUME).ok
    assert "cannot be paused" in control.check(local, RUNNING, Action.PAUSE).reason
    assert not control.check(None, RUNNING, Action.CANCEL).ok


def test_unsupported_actions_raise_not_supported(app_store: RunStore) -> None:
    folder = app_store.create(local_spec(), status={"state": RunState.RUNNING, "pid": os.getpid()})
    with pytest.raises(NotSupported, match="cannot be paused"):
        control.pause(folder)
    hosted = app_store.create(
        hosted_spec(), status={"state": RunState.RUNNING, "job_id": "ftjob-x"}
    )
    with pytest.raises(NotSupported, match="own schedule"):
        control.save_now(hosted)


def test_local_save_now_and_cancel_signal_the_worker(start_worker) -> None:
    folder, child = start_worker()
    assert "saves at the next step" in control.save_now(folder)
    wait_for(lambda: "Saved checkpoint" in folder.log_txt.read_text())
    assert "saves and stops" in control.cancel(folder)
    wait_for(lambda: folder.read_status().state is RunState.CANCELLED)
    assert child.wait(timeout=PATIENCE_S) == 0
    assert "Cancelled at step" in folder.log_txt.read_text()


def test_a_dead_worker_is_not_signalled(app_store: RunStore) -> None:
    # A pid that cannot be ours: status says running, but nothing by that pid is alive.
    folder = app_store.create(local_spec(), status={"state": RunState.RUNNING, "pid": 2**22 + 17})
    with pytest.raises(BackendError, match="already ended"):
        control.cancel(folder)  # effective status: failed (the worker died)


@pytest.fixture
def foreign_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that has nothing to do with any run."""
    child = subprocess.Popen(["sleep", "30"])
    yield child
    child.kill()
    child.wait(timeout=PATIENCE_S)


@pytest.mark.parametrize("heartbeat", [None, "fresh"])
def test_cancel_leaves_a_foreign_process_alone(
    tmp_path: Path, foreign_process: subprocess.Popen[bytes], heartbeat: str | None
) -> None:
    # A hand-made (or copied) run folder: running, the pid of an unrelated live process, no lock.
    folder = RunStore(tmp_path / "runs").create(local_spec())
    status = folder.read_status().to_dict()
    beat = time.time() if heartbeat else None
    status.update(
        state="running",
        pid=foreign_process.pid,
        heartbeat_at=beat,
        started_at=beat,
        created_at=beat,
    )
    folder.status_json.write_text(json.dumps(status))
    assert folder.owner_pid() is None
    # No heartbeat: nobody keeps the run (it reads failed); a fresh one: still not proven its own.
    expected = "no live process" if heartbeat else "already ended"
    for act in (control.cancel, control.save_now):
        with pytest.raises(BackendError, match=expected):
            act(folder)
    with pytest.raises(BackendError, match="no live process"):
        LocalBackend().cancel(folder)
    # Never signalled, proven without waiting: a signal already sent is pending (or has
    # acted), and Linux delivers pending signals lowest number first, so had the code sent
    # SIGINT/SIGUSR1/SIGTERM..., ``sleep`` would die of it rather than of this SIGVTALRM (26).
    foreign_process.send_signal(signal.SIGVTALRM)
    assert foreign_process.wait(timeout=PATIENCE_S) == -signal.SIGVTALRM


def test_cancel_a_hosted_job_on_the_emulator(
    app_store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backends.hosted.backend import OpenAIBackend
    from backends.hosted.settings import HostedSettings

    data = tmp_path / "train.jsonl"
    data.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
        * 10
    )
    with FineTuneAPI(script=Script(total_steps=12, eval_every=4), auto_advance=False) as api:
        monkeypatch.setenv("OPENAI_API_KEY", api.api_key)
        backend = OpenAIBackend(
            HostedSettings(base_url=api.base_url, timeout_s=5.0), start_followers=False
        )
        spec = RunSpec(backend="openai", model="gpt-4o-mini-2024-07-18", dataset=str(data))
        folder = backend.launch(spec, app_store)
        job_id = folder.read_status().job_id
        assert job_id
        api.advance(job_id, 4)
        folder.update_status(state=RunState.RUNNING)
        assert control.pause(folder) == f"Pause requested for job {job_id}."
        assert folder.read_status().state is RunState.PAUSED
        control.resume(folder)
        assert control.cancel(folder) == f"Cancel requested for job {job_id}."
        assert folder.read_status().state is RunState.CANCELLED
        assert api.jobs[job_id].status == "cancelled"


def test_gpu_readings_parse_and_absent_tools_give_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from backends import gpu

    out = "0, NVIDIA H100 80GB HBM3, 87, 20480, 81559\n1, NVIDIA H100, [N/A], 1024, 81559\nbad\n"
    first, second = gpu.parse_nvidia_smi(out)
    assert (first.index, first.utilization_pct, first.memory_used_mib) == (0, 87.0, 20480.0)
    assert first.describe() == "GPU0 87%  20.0/80 GiB"
    assert second.utilization_pct is None and second.describe().startswith("GPU1 —")
    monkeypatch.setattr(gpu, "_read_nvml", lambda: None)
    monkeypatch.setattr(gpu.shutil, "which", lambda name: None)
    assert gpu.read_gpus() == []
