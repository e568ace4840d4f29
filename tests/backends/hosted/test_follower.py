"""The follower as a real detached process: end to end, killed and restarted, one per run, no secrets."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

from backends.hosted.backend import OpenAIBackend
from backends.hosted.follower import ensure_follower, follower_alive, run_follower, start_follower
from backends.hosted.settings import HostedSettings
from backends.processes import RunLock
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import PATIENCE_S, files_containing, wait_for


def launch(emulator: FineTuneAPI, store: RunStore, dataset: Path, *, follow: bool) -> RunFolder:
    backend = OpenAIBackend(
        HostedSettings(base_url=emulator.base_url, timeout_s=5.0),
        secret=emulator.api_key,
        start_followers=follow,
    )
    spec = RunSpec(backend="openai", model="gpt-4o-mini-2024-07-18", dataset=str(dataset))
    return backend.launch(spec, store)


def finished(folder: RunFolder) -> bool:
    return folder.read_status().state.is_terminal and not follower_alive(folder)


def test_follower_mirrors_the_job_from_its_own_session(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    folder = launch(emulator, store, dataset, follow=True)
    wait_for(lambda: folder.read_status().pid)
    pid = folder.read_status().pid
    assert pid and os.getsid(pid) != os.getsid(0)  # its own session: survives our terminal
    wait_for(lambda: finished(folder))
    assert folder.read_status().state is RunState.SUCCEEDED
    assert [p.step for p in folder.load_metrics()] == list(range(1, 13))
    assert (folder.output_dir / "step_metrics.csv").is_file()
    assert files_containing(store.root, emulator.api_key) == []


def test_killed_follower_is_restarted_and_mirrors_exactly_once(
    store: RunStore, dataset: Path
) -> None:
    with FineTuneAPI(script=Script(total_steps=40, checkpoint_every=10)) as emulator:
        folder = launch(emulator, store, dataset, follow=False)
        first = start_follower(folder, secret=emulator.api_key)
        wait_for(lambda: len(folder.load_metrics()) >= 8)
        first.send_signal(signal.SIGKILL)
        first.wait()
        status = folder.read_status()
        assert not status.state.is_terminal and not follower_alive(folder)
        assert folder.effective_status().extra.get("follower_alive") is False

        second = ensure_follower(folder, secret=emulator.api_key)
        assert second is not None
        wait_for(lambda: finished(folder))
        second.wait()
        assert ensure_follower(folder, secret=emulator.api_key) is None  # nothing left to follow

        assert [p.step for p in folder.load_metrics()] == list(range(1, 41))
        job = emulator.jobs[folder.read_status().job_id or ""]
        messages = [e["message"] for e in job.events if e["type"] == "message"]
        log = folder.log_txt.read_text()
        assert Counter(m for m in messages if m in log) == Counter(messages)
        for message in messages:
            assert log.count(message) == 1, message
        assert files_containing(store.root, emulator.api_key) == []


def test_only_one_follower_per_run(emulator: FineTuneAPI, store: RunStore, dataset: Path) -> None:
    folder = launch(emulator, store, dataset, follow=False)
    emulator.auto_advance = False
    holder = RunLock(folder.lock_path)
    holder.acquire()
    try:
        assert follower_alive(folder)
        assert ensure_follower(folder, secret=emulator.api_key) is None
        second = start_follower(folder, secret=emulator.api_key)
        assert second.wait(timeout=PATIENCE_S) == 0  # saw the lock, left at once
        assert folder.load_metrics() == []
    finally:
        holder.release()
    assert not follower_alive(folder)


def test_key_reaches_the_follower_only_through_its_environment(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    folder = launch(emulator, store, dataset, follow=False)
    process = start_follower(folder, secret=emulator.api_key)
    try:
        args = process.args
        assert isinstance(args, list) and not any(emulator.api_key in str(a) for a in args)
        wait_for(lambda: finished(folder))
    finally:
        process.wait(timeout=PATIENCE_S)
    assert folder.read_status().state is RunState.SUCCEEDED
    assert files_containing(store.root, emulator.api_key) == []


def test_follower_without_a_key_stops_with_an_explanation(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    folder = launch(emulator, store, dataset, follow=False)
    assert run_follower(folder.path) == 1
    assert "OPENAI_API_KEY" in folder.read_status().detail
    assert not follower_alive(folder)


def test_module_entry_point_usage() -> None:
    result = subprocess.run(
        [
            *__import__("backends.processes", fromlist=["x"]).python_module_argv(
                "backends.hosted.follower"
            )
        ],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    assert result.returncode == 2 and "usage" in result.stderr


def test_an_ended_job_whose_results_stay_out_of_reach_is_let_go_with_a_note(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    """The job succeeded, then the API became unreachable: the follower exits in bounded time (#11 item 22)."""
    folder = launch(emulator, store, dataset, follow=False)
    emulator.inject(drop=True, times=10**6, path_contains="/content")  # result files never arrive
    process = start_follower(folder, secret=emulator.api_key)
    try:
        wait_for(lambda: finished(folder))
    finally:
        assert process.wait(timeout=PATIENCE_S) == 0
    status = folder.read_status()
    assert status.state is RunState.SUCCEEDED and not status.reconnecting
    assert "its result files could not be fetched" in status.detail
    assert f"finetune-tui attach {status.job_id} --backend openai" in status.detail
    assert status.extra["unfetched"] == "its result files"
    log = folder.log_txt.read_text()
    assert f"Job {status.job_id} ended: succeeded." in log
    assert "the job goes on" not in log
