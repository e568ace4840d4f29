"""The mirror: faults, paging, crashes mid-batch, control actions and attaching to existing jobs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from backends.hosted.backend import OpenAIBackend
from backends.hosted.job_mirror import JobMirror
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI


def launch(
    backend: OpenAIBackend, store: RunStore, dataset: Path, validation: Path | None = None
) -> RunFolder:
    spec = RunSpec(
        backend="openai",
        model="gpt-4o-mini-2024-07-18",
        dataset=str(dataset),
        validation=str(validation) if validation else None,
    )
    return backend.launch(spec, store)


def assert_each_step_once(folder: RunFolder, total: int) -> None:
    assert [p.step for p in folder.load_metrics()] == list(range(1, total + 1))


def event_lines(folder: RunFolder) -> list[str]:
    """Log lines mirrored from provider events (the ones carrying a provider timestamp)."""
    return [line for line in folder.log_txt.read_text().splitlines() if line.startswith("2026-09-")]


def test_transient_faults_never_lose_or_duplicate(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    validation: Path,
) -> None:
    folder = launch(openai_backend, store, dataset, validation)
    emulator.inject(500, times=3, retry_after=0.01, path_contains="/events")
    emulator.inject(429, times=2, retry_after=0.01, path_contains="/fine_tuning/jobs/")
    emulator.inject(drop=True, times=2, path_contains="/events")
    assert openai_backend.follow(folder) is RunState.SUCCEEDED
    assert_each_step_once(folder, 12)
    lines = event_lines(folder)
    assert len(lines) >= 5 and len(lines) == len(set(lines))
    assert "Reconnecting" in folder.log_txt.read_text()
    assert folder.read_status().reconnecting is False


def test_many_events_per_poll_are_paged_in_order(
    openai_backend: OpenAIBackend, store: RunStore, emulator: FineTuneAPI, dataset: Path
) -> None:
    emulator.script.total_steps = 260
    emulator.script.steps_per_tick = 130
    emulator.script.checkpoint_every = 100
    folder = launch(openai_backend, store, dataset)
    assert openai_backend.follow(folder) is RunState.SUCCEEDED
    assert_each_step_once(folder, 260)
    assert [c["step"] for c in folder.read_status().checkpoints] == [100, 200]
    page_calls = [p for m, p in emulator.requests if p.endswith("/events")]
    assert len(page_calls) > 5


def test_a_mirror_killed_mid_batch_is_replayed_without_duplicates(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    validation: Path,
) -> None:
    folder = launch(openai_backend, store, dataset, validation)
    job_id = folder.read_status().job_id
    assert job_id
    emulator.auto_advance = False
    client = openai_backend.client()
    mirror = JobMirror(folder, client, job_id)
    emulator.advance(job_id, 3)
    mirror.sync_once()

    class Killed(BaseException):
        pass

    def die(self: JobMirror) -> None:
        raise Killed

    emulator.advance(job_id, 7)  # several steps and the checkpoint at step 6
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(JobMirror, "_save_cursor", die)
        with pytest.raises(Killed):
            mirror.sync_once()  # lines written, cursor not saved: as if killed right there
    written = [p.step for p in folder.load_metrics()]
    assert written == list(range(1, len(written) + 1)) and 3 < len(written) < 12

    emulator.run_to_end(job_id)
    assert JobMirror(folder, client, job_id).run() is RunState.SUCCEEDED
    assert_each_step_once(folder, 12)
    counts = Counter(event_lines(folder))
    assert "Checkpoint created at step 6" in " ".join(counts)
    assert all(n == 1 for n in counts.values()), counts


@pytest.mark.parametrize(
    "saved",
    [b'{"last_event_id": nul', b"[1, 2]", b'{"log_offset": 0, "written_by_a_later_version": 1}'],
    ids=["cut-short", "not-an-object", "unknown-field"],
)
def test_a_damaged_or_unknown_cursor_reads_as_a_fresh_one(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    saved: bytes,
) -> None:
    folder = launch(openai_backend, store, dataset)
    job_id = folder.read_status().job_id
    (folder.path / ".mirror.json").write_bytes(saved)
    assert openai_backend.follow(folder) is RunState.SUCCEEDED
    assert_each_step_once(folder, 12)
    lines = event_lines(folder)
    assert lines and len(lines) == len(set(lines))
    cursor = orjson.loads((folder.path / ".mirror.json").read_bytes())
    assert cursor["job_id"] == job_id and cursor["results_saved"] is True
    assert "written_by_a_later_version" not in cursor


def test_cancel_pause_resume(
    openai_backend: OpenAIBackend, store: RunStore, emulator: FineTuneAPI, dataset: Path
) -> None:
    folder = launch(openai_backend, store, dataset)
    job_id = folder.read_status().job_id
    assert job_id
    emulator.auto_advance = False
    emulator.advance(job_id, 4)
    openai_backend.pause(folder)
    assert folder.read_status().state is RunState.PAUSED
    openai_backend.resume(folder)
    assert folder.read_status().state is RunState.RUNNING
    openai_backend.cancel(folder)
    status = folder.read_status()
    assert status.state is RunState.CANCELLED and status.ended_at is not None
    assert "Cancel requested" in folder.log_txt.read_text()
    assert openai_backend.follow(folder) is RunState.CANCELLED


def test_attach_to_an_existing_job_backfills_everything(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    validation: Path,
) -> None:
    import openai

    client = openai.OpenAI(api_key=emulator.api_key, base_url=emulator.base_url)
    training = client.files.create(file=dataset, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18",
        training_file=training.id,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.3}}},
    )
    emulator.run_to_end(job.id)

    jobs = openai_backend.list_jobs(limit=5)
    assert jobs[0].job_id == job.id and jobs[0].state is RunState.SUCCEEDED
    folder = openai_backend.attach(job.id, store)
    spec = folder.read_spec()
    assert spec.method == "dpo" and spec.hyperparameters["beta"] == 0.3
    assert openai_backend.follow(folder) is RunState.SUCCEEDED
    assert_each_step_once(folder, 12)
    assert folder.read_status().fine_tuned_model == emulator.jobs[job.id].fine_tuned_model


def test_a_full_disk_pauses_the_mirror_and_the_true_state_is_written_after(
    openai_backend: OpenAIBackend,
    store: RunStore,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import backends.runs.store as store_module
    from tests.support.helpers import FullDisk

    folder = launch(openai_backend, store, dataset)
    monkeypatch.setattr(
        store_module, "write_json_atomic", FullDisk(store_module.write_json_atomic, 4)
    )
    assert openai_backend.follow(folder) is RunState.SUCCEEDED
    assert folder.read_status().state is RunState.SUCCEEDED  # not left running
    assert "disk full" in capfd.readouterr().err
