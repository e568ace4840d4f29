"""Launch a job through the real SDK against the emulator, then follow it in-process to the end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from backends.files import sha256_of
from backends.hosted.backend import RUN_METADATA_KEY, OpenAIBackend
from backends.runs import RunStore
from backends.runs.values import DPO, RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import files_containing


def spec_for(dataset: Path, validation: Path | None = None, **changes: object) -> RunSpec:
    values: dict[str, object] = {
        "backend": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "dataset": str(dataset),
        "dataset_sha256": sha256_of(dataset),
        "validation": str(validation) if validation else None,
        "hyperparameters": {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.5},
        "suffix": "arith",
        "seed": 7,
        "metadata": {"team": "evals"},
    }
    values.update(changes)
    return RunSpec(**values)  # type: ignore[arg-type]


def test_launch_uploads_with_progress_and_records_job_id(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    validation: Path,
) -> None:
    progress: list[tuple[str, int, int]] = []
    folder = openai_backend.launch(
        spec_for(dataset, validation), store, progress=lambda *a: progress.append(a)
    )

    status = folder.read_status()
    assert status.job_id in emulator.jobs
    assert status.state is RunState.VALIDATING
    assert {p[0] for p in progress} == {"train.jsonl", "valid.jsonl"}
    size = dataset.stat().st_size
    done = [p for p in progress if p[0] == "train.jsonl" and p[1] == p[2]]
    assert done == [("train.jsonl", size, size)]  # "uploaded" once, after the provider said so
    job = emulator.jobs[status.job_id]
    assert job.params["method"] == {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 3, "learning_rate_multiplier": 0.5}},
    }
    assert job.params["suffix"] == "arith" and job.params["seed"] == 7
    assert job.params["metadata"] == {"team": "evals", RUN_METADATA_KEY: folder.run_id}
    uploaded = emulator.files[job.params["training_file"]].content
    assert uploaded == dataset.read_bytes()
    assert (
        json.loads(folder.run_json.read_text())["settings"]["connection"]["base_url"]
        == emulator.base_url
    )


def test_dpo_and_wandb_parameters_reach_the_api(
    openai_backend: OpenAIBackend, store: RunStore, emulator: FineTuneAPI, dataset: Path
) -> None:
    spec = spec_for(
        dataset,
        method=DPO,
        hyperparameters={"beta": 0.2},
        settings={"wandb": {"project": "ft", "tags": ["a"]}},
    )
    folder = openai_backend.launch(spec, store)
    params = emulator.jobs[folder.read_status().job_id].params
    assert params["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    assert params["integrations"] == [{"type": "wandb", "wandb": {"project": "ft", "tags": ["a"]}}]


def test_follow_mirrors_the_whole_job_once(
    openai_backend: OpenAIBackend,
    store: RunStore,
    emulator: FineTuneAPI,
    dataset: Path,
    validation: Path,
) -> None:
    folder = openai_backend.launch(spec_for(dataset, validation), store)
    assert openai_backend.follow(folder) is RunState.SUCCEEDED

    points = folder.load_metrics()
    assert [p.step for p in points] == list(range(1, 13))
    assert all(p.total_steps == 12 and p.train_loss is not None for p in points)
    assert [p.step for p in points if p.valid_loss is not None] == [4, 8, 12]
    assert points[-1].full_valid_loss is not None
    assert points[-1].elapsed is not None and points[-1].elapsed > 0

    status = folder.read_status()
    job = emulator.jobs[status.job_id]
    assert status.state is RunState.SUCCEEDED and status.ended_at is not None
    assert status.fine_tuned_model == job.fine_tuned_model
    assert status.trained_tokens == 12_000
    assert [c["step"] for c in status.checkpoints] == [6]
    assert status.checkpoints[0]["model"].endswith(":ckpt-step-6")

    rows = list(csv.DictReader(io.StringIO((folder.output_dir / "step_metrics.csv").read_text())))
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    result = json.loads((folder.output_dir / "result.json").read_text())
    assert result["fine_tuned_model"] == job.fine_tuned_model

    log = folder.log_txt.read_text()
    for message in (
        "Validating training file",
        "Fine-tuning job started",
        "Checkpoint created at step 6",
        "The job has successfully completed",
        f"Fine-tuned model: {job.fine_tuned_model}",
    ):
        assert log.count(message) == 1, message
    assert "Step 3/12" not in log  # metrics events go to metrics.jsonl, not the log

    assert openai_backend.result(folder).model == job.fine_tuned_model
    assert files_containing(store.root, emulator.api_key) == []


def test_failed_job_records_the_providers_reason(
    openai_backend: OpenAIBackend, store: RunStore, emulator: FineTuneAPI, dataset: Path
) -> None:
    emulator.script.fail_at_step = 5
    folder = openai_backend.launch(spec_for(dataset), store)
    assert openai_backend.follow(folder) is RunState.FAILED
    status = folder.read_status()
    assert "line 3 has no assistant message" in (status.error or "")
    assert [p.step for p in folder.load_metrics()] == [1, 2, 3, 4]
    assert "[error]" in folder.log_txt.read_text()


def test_prepare_reports_problems_before_anything_is_sent(
    openai_backend: OpenAIBackend, emulator: FineTuneAPI, dataset: Path, tmp_path: Path
) -> None:
    spec = spec_for(
        dataset,
        hyperparameters={"n_epochs": -1, "warmup": 3},
        suffix="x" * 70,
        validation=str(tmp_path / "missing.jsonl"),
    )
    problems = [p for p in openai_backend.prepare(spec) if p.fatal]
    wheres = {p.where for p in problems}
    assert {"n_epochs", "warmup", "suffix", str(tmp_path / "missing.jsonl")} <= wheres
    inspected = spec_for(dataset)
    dataset.write_bytes(dataset.read_bytes() + b"\n")
    assert any(
        "changed since it was inspected" in p.message for p in openai_backend.prepare(inspected)
    )
    assert emulator.requests == []


def test_a_run_still_uploading_is_alive_to_viewers(
    openai_backend: OpenAIBackend, store: RunStore, dataset: Path
) -> None:
    seen: list[RunState] = []

    def look(*_: object) -> None:
        [folder] = store.list_folders()
        seen.append(folder.effective_status().state)

    openai_backend.launch(spec_for(dataset), store, progress=look)
    assert seen and RunState.FAILED not in seen
