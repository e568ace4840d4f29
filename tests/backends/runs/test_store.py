"""The run store: ids, creation, listing, atomic status, liveness."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from backends.processes import RunLock
from backends.runs import RunFolder, RunStore, make_run_id, model_slug
from backends.runs.values import MetricPoint, RunSpec, RunState
from backends.workspace import Workspace

NOV_24 = datetime(2026, 11, 24, 3, 12, tzinfo=timezone.utc).timestamp()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def spec(model: str = "gpt-4o-mini-2024-07-18", backend: str = "openai") -> RunSpec:
    return RunSpec(backend=backend, model=model, dataset="train.jsonl")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOV_24)


@pytest.fixture
def dated_store(tmp_path: Path, clock: FakeClock) -> RunStore:
    tags = iter(["ab12", "ab12", "cd34", "ef56", "0a0b"])
    return RunStore.of(Workspace.at(tmp_path), clock=clock, tag=lambda: next(tags))


@pytest.mark.parametrize(
    ("model", "slug"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("ft:gpt-4.1-nano-2025-04-14:org::abc", "gpt-4-1-nano"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m-instruct"),
        ("/models/tiny.Q4_K_M.gguf", "tiny-q4-k-m"),
        ("!!!", "model"),
    ],
)
def test_model_slug(model: str, slug: str) -> None:
    assert model_slug(model) == slug


def test_run_ids_are_sortable_and_readable(dated_store: RunStore, clock: FakeClock) -> None:
    assert make_run_id("gpt-4o-mini", now=NOV_24, tag="ab12") == "20261124-0312-gpt-4o-mini-ab12"
    first = dated_store.create(spec())
    second = dated_store.create(spec())  # same minute, same first tag: the next tag is used
    assert first.run_id == "20261124-0312-gpt-4o-mini-ab12"
    assert second.run_id == "20261124-0312-gpt-4o-mini-cd34"
    clock.now += 3600
    third = dated_store.create(spec("HuggingFaceTB/SmolLM2-135M-Instruct", backend="local"))
    assert [f.run_id for f in dated_store.list_folders()] == [
        third.run_id,
        second.run_id,
        first.run_id,
    ]
    assert dated_store.find("20261124-0412").run_id == third.run_id
    with pytest.raises(KeyError, match="matches 2 runs"):
        dated_store.find("20261124-0312")
    with pytest.raises(KeyError, match="No run"):
        dated_store.find("nope")
    assert dated_store.find(str(first.path)) == first


def test_new_run_folder_follows_the_contract(dated_store: RunStore) -> None:
    folder = dated_store.create(spec())
    assert folder.output_dir.is_dir()
    assert orjson.loads(folder.run_json.read_bytes())["run_id"] == folder.run_id
    assert folder.read_spec() == spec()
    status = folder.read_status()
    assert status.state is RunState.QUEUED and status.created_at == NOV_24
    folder.append_metric(MetricPoint(step=1, train_loss=2.0))
    folder.append_metrics(
        [MetricPoint(step=2, train_loss=1.5), MetricPoint(step=3, train_loss=1.0)]
    )
    folder.log("hello\nworld")
    assert [p.step for p in folder.load_metrics()] == [1, 2, 3]
    assert folder.last_metric() == MetricPoint(step=3, train_loss=1.0)
    assert folder.last_log_lines(2) == ["2026-11-24 03:12:00  hello", "2026-11-24 03:12:00  world"]


def test_status_writes_are_atomic_for_readers(dated_store: RunStore) -> None:
    folder = dated_store.create(spec())
    stop = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(orjson.loads(folder.status_json.read_bytes())["detail"])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            folder.update_status(detail=f"step {i} " + "x" * (i * 7))
    finally:
        stop.set()
        reader.join()
    assert seen  # every read parsed: no torn JSON
    assert not [p for p in folder.path.iterdir() if p.name.endswith(".tmp")]


def test_a_local_run_whose_worker_died_reads_as_failed(
    dated_store: RunStore, clock: FakeClock
) -> None:
    folder = dated_store.create(spec("HuggingFaceTB/SmolLM2-135M-Instruct", backend="local"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder.update_status(state=RunState.RUNNING, pid=dead.pid)
    effective = folder.effective_status()
    assert effective.state is RunState.FAILED and "not running" in (effective.error or "")
    assert folder.read_status().state is RunState.RUNNING  # reading never writes


def test_a_stale_heartbeat_reads_as_dead(dated_store: RunStore, clock: FakeClock) -> None:
    folder = dated_store.create(spec(backend="local"))
    folder.update_status(state=RunState.RUNNING, pid=os.getpid())
    assert folder.worker_alive()
    clock.now += 3600
    assert not folder.worker_alive()
    assert folder.effective_status().state is RunState.FAILED


def test_a_hosted_run_without_follower_keeps_its_state(dated_store: RunStore) -> None:
    folder = dated_store.create(spec())
    folder.update_status(state=RunState.RUNNING, job_id="ftjob-1", pid=None)
    effective = folder.effective_status()
    assert effective.state is RunState.RUNNING and effective.extra["follower_alive"] is False
    with RunLock(folder.lock_path):
        assert folder.worker_alive()
        assert "follower_alive" not in folder.effective_status().extra


def test_summaries_list_state_and_last_point(dated_store: RunStore) -> None:
    folder = dated_store.create(spec())
    folder.append_metric(MetricPoint(step=4, train_loss=0.7))
    folder.update_status(state=RunState.SUCCEEDED)
    [row] = dated_store.summaries()
    assert row.run_id == folder.run_id and row.status.state is RunState.SUCCEEDED
    assert row.last_point is not None and row.last_point.train_loss == 0.7
    assert isinstance(RunFolder(folder.path), RunFolder)


def test_a_run_that_cannot_be_written_leaves_no_folder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    spec = RunSpec(backend="local", model="m", dataset="/d.jsonl", hyperparameters={"x": 10**30})
    with pytest.raises(TypeError):
        store.create(spec)  # orjson: an integer beyond 64 bits
    assert list(store.root.iterdir()) == []
