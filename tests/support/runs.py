"""Recorded run folders with fixed data: what the monitor and the runs list are tested against.

Every figure is a function of the step (no randomness, no wall clock); times
are relative to ``NOW``, the instant the test app's clock always says.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backends.processes import is_locked
from backends.runs import RunFolder, RunStatus, RunStore, format_log_line
from backends.runs.values import MetricPoint, RunSpec, RunState
from tests.support.clock import fixed_clock

NOW = fixed_clock().timestamp()
LOCAL_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
HOSTED_MODEL = "gpt-4o-mini-2024-07-18"


def ended(folder: RunFolder) -> bool:
    """The run has ended and its worker or follower is done with the folder.

    ``status.json`` says the end before its process is done: a follower still fetches the
    result files and saves its cursor, a worker still saves its adapter. Only once the run's
    lock is free does nothing write to the folder any more.
    """
    return folder.read_status().state.is_terminal and not is_locked(folder.lock_path)


@contextmanager
def beating(folder: RunFolder, every: float = 1.0) -> Iterator[RunFolder]:
    """Keep ``folder``'s heartbeat fresh by the real clock, as its worker would, while inside.

    For code that reads the real clock (the CLI): a heartbeat written once goes stale however
    long a busy machine takes to get to the reading.
    """
    stop = threading.Event()

    def beat() -> None:
        while True:
            folder.update_status(heartbeat_at=time.time())
            if stop.wait(every):
                return

    folder.update_status(heartbeat_at=time.time())
    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield folder
    finally:
        stop.set()
        thread.join()


def store_at(workspace: Path, *, tags: list[str] | None = None) -> RunStore:
    names = iter(tags or ["a1b2", "c3d4", "e5f6", "0a0b", "1c1d", "2e2f"])
    return RunStore(workspace / "runs", clock=lambda: NOW, tag=lambda: next(names))


def _create(store: RunStore, spec: RunSpec, created: float) -> RunFolder:
    """A run folder created at ``created`` (ids and order follow it)."""
    clock = store.clock
    store.clock = lambda: created
    try:
        return store.create(spec)
    finally:
        store.clock = clock


def local_spec(**hyper: float | int | str) -> RunSpec:
    return RunSpec(
        backend="local",
        model=LOCAL_MODEL,
        dataset="/data/support/train.jsonl",
        validation="/data/support/valid.jsonl",
        hyperparameters={"num_train_epochs": 3, "learning_rate": 2e-4, **hyper},
        name="support-lora",
    )


def train_loss(step: int) -> float:
    """A falling loss with a deterministic wiggle."""
    return 0.45 + 2.1 * math.exp(-step / 180) + 0.06 * math.sin(step * 0.7)


def local_points(
    steps: int,
    *,
    total: int = 1500,
    eval_every: int = 50,
    valid: object = None,
    start: int = 1,
    seconds_per_step: float = 1.5,
) -> list[MetricPoint]:
    """``steps`` local points; ``valid`` is ``step -> loss`` (default: tracks the train loss)."""
    valid_of = valid if callable(valid) else (lambda s: train_loss(s) + 0.12)
    points = []
    for step in range(start, start + steps):
        points.append(
            MetricPoint(
                step=step,
                train_loss=round(train_loss(step), 5),
                valid_loss=round(valid_of(step), 5) if step % eval_every == 0 else None,
                learning_rate=2e-4 * (1 - step / total),
                tokens_per_s=3120.0 + (step % 7) * 10,
                epoch=round(3 * step / total, 4),
                total_steps=total,
                elapsed=step * seconds_per_step,
            )
        )
    return points


def write_log(folder: RunFolder, messages: list[str], started: float) -> None:
    folder.append_log_lines(
        format_log_line(message, started + 30 * index) for index, message in enumerate(messages)
    )


def local_running(
    store: RunStore, *, steps: int = 600, points: list[MetricPoint] | None = None
) -> RunFolder:
    """A local LoRA run, worker alive (this test process), 600 of 1,500 steps done."""
    started = NOW - steps * 1.5
    folder = _create(store, local_spec(), started - 20)
    folder.append_metrics(points if points is not None else local_points(steps))
    folder.write_status(
        RunStatus(
            state=RunState.RUNNING,
            pid=os.getpid(),
            created_at=started - 20,
            started_at=started,
            heartbeat_at=NOW,
            total_steps=1500,
        )
    )
    write_log(
        folder,
        [
            f"Loading {LOCAL_MODEL} (bf16) on cuda:0",
            "LoRA r=16 alpha=32 on q_proj,k_proj,v_proj,o_proj: 1.8M trainable parameters",
            "Training 1,500 steps (3 epochs, batch 8)",
            "Saved checkpoint output/checkpoint-500",
        ],
        started,
    )
    return folder


def overfit_valid(step: int) -> float:
    """Validation loss that bottoms out at step 300, then climbs."""
    if step <= 300:
        return train_loss(step) + 0.1
    return train_loss(300) + 0.1 + 0.0009 * (step - 300)


def local_overfitting(store: RunStore) -> RunFolder:
    return local_running(store, points=local_points(600, valid=overfit_valid))


def local_failed(store: RunStore) -> RunFolder:
    started = NOW - 4000
    folder = _create(store, local_spec(per_device_train_batch_size=32), started - 10)
    folder.append_metrics(local_points(212))
    folder.write_status(
        RunStatus(
            state=RunState.FAILED,
            pid=None,
            created_at=started - 10,
            started_at=started,
            ended_at=started + 330,
            heartbeat_at=started + 330,
            error=(
                "CUDA out of memory: tried to allocate 2.00 GiB (GPU 0: 23.6 GiB total, "
                "1.1 GiB free). Lower per_device_train_batch_size or use QLoRA."
            ),
            total_steps=1500,
        )
    )
    write_log(
        folder,
        [
            f"Loading {LOCAL_MODEL} (bf16) on cuda:0",
            "Training 1,500 steps (3 epochs, batch 32)",
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            "Worker ended: failed",
        ],
        started,
    )
    return folder


def local_succeeded(store: RunStore) -> RunFolder:
    """A finished local LoRA run with its adapter in ``output/adapter`` (merge and push offered)."""
    started = NOW - 1500 * 1.5 - 60
    folder = _create(store, local_spec(), started - 20)
    folder.append_metrics(local_points(1500))
    adapter = folder.output_dir / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 16}\n')
    folder.write_status(
        RunStatus(
            state=RunState.SUCCEEDED,
            created_at=started - 20,
            started_at=started,
            ended_at=started + 1500 * 1.5,
            heartbeat_at=started + 1500 * 1.5,
            total_steps=1500,
            result_files=(str(adapter),),
        )
    )
    write_log(
        folder,
        [
            f"Loading {LOCAL_MODEL} (bf16) on cuda:0",
            "Training 1,500 steps (3 epochs, batch 8)",
            "Saved the adapter to output/adapter.",
            "Run succeeded after 1500 steps.",
        ],
        started,
    )
    return folder


def hosted_spec() -> RunSpec:
    return RunSpec(
        backend="openai",
        model=HOSTED_MODEL,
        dataset="/data/support/train.jsonl",
        validation="/data/support/valid.jsonl",
        hyperparameters={"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": "auto"},
        suffix="support",
    )


def hosted_succeeded(store: RunStore) -> RunFolder:
    """An OpenAI job: 3 epochs of 30 steps, full validation at each epoch end, 2 checkpoints."""
    started = NOW - 7200
    folder = _create(store, hosted_spec(), started - 300)
    points = []
    for step in range(1, 91):
        points.append(
            MetricPoint(
                step=step,
                train_loss=round(1.9 * math.exp(-step / 30) + 0.3 + 0.05 * math.sin(step), 5),
                valid_loss=round(1.9 * math.exp(-step / 35) + 0.38 + 0.04 * math.cos(step), 5),
                full_valid_loss=round(1.9 * math.exp(-step / 35) + 0.37, 5)
                if step % 30 == 0
                else None,
                train_mean_token_accuracy=0.6 + step / 300,
                total_steps=90,
                elapsed=step * 40.0,
            )
        )
    folder.append_metrics(points)
    checkpoints = tuple(
        {"step": step, "model": f"ft:{HOSTED_MODEL}:acme:support:ck{step}"} for step in (30, 60)
    )
    folder.write_status(
        RunStatus(
            state=RunState.SUCCEEDED,
            job_id="ftjob-abc123",
            created_at=started - 300,
            started_at=started,
            ended_at=started + 3660,
            heartbeat_at=started + 3660,
            provider_status="succeeded",
            total_steps=90,
            fine_tuned_model=f"ft:{HOSTED_MODEL}:acme:support:9xYz",
            trained_tokens=1_234_567,
            checkpoints=checkpoints,
        )
    )
    (folder.output_dir / "result.json").write_text('{"job_id": "ftjob-abc123"}\n')
    write_log(
        folder,
        [
            "OpenAI fine-tuning of gpt-4o-mini-2024-07-18 (supervised)",
            "Uploaded train.jsonl as file-tr41n",
            "Fine-tuning job started",
            "Checkpoint created at step 30",
            "Checkpoint created at step 60",
            "The job has successfully completed",
            f"Fine-tuned model: ft:{HOSTED_MODEL}:acme:support:9xYz",
        ],
        started,
    )
    return folder


def hosted_with_gaps(store: RunStore) -> RunFolder:
    """``hosted_succeeded`` whose follower noted gaps: two damaged ``metrics.jsonl`` lines (one
    cut short at the end) and a job that ended while its last events stayed out of reach."""
    folder = hosted_succeeded(store)
    with open(folder.metrics_jsonl, "ab") as handle:
        handle.write(b'{"step": "ninety-one"}\n{"step": 92, "train_lo')
    how = "finetune-tui attach ftjob-abc123 --backend openai"
    folder.update_status(
        detail=(
            "The job succeeded, but its last events could not be fetched (Cannot reach "
            f"OpenAI). Fetch them later with `{how}`."
        ),
        extra={"unfetched": "its last events", "fetch_with": how},
    )
    return folder


def all_kinds(store: RunStore) -> dict[str, RunFolder]:
    """One run of each kind in one workspace (for the runs list)."""
    return {
        "hosted": hosted_succeeded(store),
        "failed": local_failed(store),
        "running": local_running(store),
    }


def dpo_margin(step: int) -> float:
    """A reward margin that rises and levels off, with a deterministic wiggle."""
    return 2.4 * (1 - math.exp(-step / 120)) + 0.08 * math.sin(step * 0.9)


def dpo_points(steps: int, *, total: int = 800, eval_every: int = 40) -> list[MetricPoint]:
    points = []
    for step in range(1, steps + 1):
        margin = dpo_margin(step)
        chosen = round(0.4 * margin, 5)
        point = MetricPoint(
            step=step,
            train_loss=round(math.log1p(math.exp(-margin)), 5),
            learning_rate=5e-6 * (1 - step / total),
            tokens_per_s=2480.0 + (step % 5) * 10,
            epoch=round(2 * step / total, 4),
            total_steps=total,
            elapsed=step * 2.0,
            train_rewards_margins=round(margin, 5),
            train_rewards_accuracies=round(min(1.0, 0.5 + margin / 4), 4),
            train_rewards_chosen=chosen,
            train_rewards_rejected=round(chosen - margin, 5),
        )
        points.append(point)
        if step % eval_every == 0:
            valid = margin * 0.9
            points.append(
                MetricPoint(
                    step=step,
                    valid_loss=round(math.log1p(math.exp(-valid)), 5),
                    valid_rewards_margins=round(valid, 5),
                    valid_rewards_accuracies=round(min(1.0, 0.45 + valid / 4), 4),
                    valid_rewards_chosen=round(0.4 * valid, 5),
                    valid_rewards_rejected=round(0.4 * valid - valid, 5),
                    total_steps=total,
                )
            )
    return points


def local_dpo_running(store: RunStore, *, steps: int = 320) -> RunFolder:
    """A local DPO LoRA run, worker alive (this test process), 320 of 800 steps done."""
    started = NOW - steps * 2.0
    spec = RunSpec(
        backend="local",
        model=LOCAL_MODEL,
        dataset="/data/support/pairs.jsonl",
        validation="/data/support/pairs-valid.jsonl",
        method="dpo",
        adapter="lora",
        hyperparameters={"num_train_epochs": 2, "learning_rate": 5e-6, "beta": 0.1},
        name="support-dpo",
    )
    folder = _create(store, spec, started - 20)
    folder.append_metrics(dpo_points(steps))
    folder.write_status(
        RunStatus(
            state=RunState.RUNNING,
            pid=os.getpid(),
            created_at=started - 20,
            started_at=started,
            heartbeat_at=NOW,
            total_steps=800,
        )
    )
    write_log(
        folder,
        [
            "Device: NVIDIA H200; precision bf16; adapter lora; objective dpo.",
            "Data: 3,200 training and 200 validation preference pairs.",
            "Reference: the base model with the adapter disabled (no second copy).",
            "Training: 800 steps, starting at step 0.",
        ],
        started,
    )
    return folder
