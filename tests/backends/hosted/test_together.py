"""Together AI: the real ``together`` SDK against the local emulator (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from backends import control, registry
from backends.backend import BackendError
from backends.hosted.errors import HostedError
from backends.hosted.mirror import Intervals
from backends.hosted.spec import hosted_spec
from backends.hosted.together import TogetherBackend, TogetherSettings
from backends.hosted.together_api import CURSOR_FILE
from backends.hosted.together_mirror import TogetherMirror
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.fakes.together_api import ARCHIVE, TogetherAPI
from tests.support.data_files import chat_line

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
FAST = Intervals(0.001, 0.001, 0.001, 0.001, 0.001, 0.01, 0.001)


@pytest.fixture
def backend(together_api: TogetherAPI, monkeypatch: pytest.MonkeyPatch) -> TogetherBackend:
    """The backend on the emulator. The SDK's own retry of a failed request waits 1 s and then
    doubles (``INITIAL_RETRY_DELAY``); here 10 ms, so the fault tests still go through that
    retry, then through ours, without sleeping most of their time away."""
    import together._base_client

    monkeypatch.setattr(together._base_client, "INITIAL_RETRY_DELAY", 0.01, raising=False)
    settings = TogetherSettings(base_url=together_api.base_url, timeout_s=5.0)
    return TogetherBackend(settings, secret=together_api.api_key, start_followers=False)


@pytest.fixture
def validation(tmp_path: Path) -> Path:
    path = tmp_path / "valid.jsonl"
    path.write_bytes(b"".join(chat_line(i) for i in range(100, 110)))
    return path


def spec_for(data: Path, validation: Path | None = None, **kwargs: object):
    options: dict = {"hyperparameters": {"n_evals": 3, "lora_r": 16}} | kwargs
    return hosted_spec(
        "together",
        model=MODEL,
        data=str(data),
        validation=validation and str(validation),
        **options,
    )


def follow_to_end(backend: TogetherBackend, folder: RunFolder) -> RunState:
    mirror = backend.mirror(folder)
    mirror.intervals = FAST
    return mirror.run()


def test_registry_entry_builds_the_together_backend() -> None:
    info = registry.get("together")
    assert info.label == "Together AI" and info.key_env == "TOGETHER_API_KEY"
    assert info.adapters == ("lora", "full") and info.download and not info.pause
    assert isinstance(info.create(), TogetherBackend)


def test_launch_follow_download(
    backend, together_api, dataset, validation, store: RunStore
) -> None:
    seen: list[tuple[str, int, int]] = []
    folder = backend.launch(
        spec_for(dataset, validation, suffix="mine", seed=7),
        store,
        progress=lambda *a: seen.append(a),
    )
    created = together_api.created[0]
    assert created["model"] == MODEL and created["n_evals"] == 3 and created["suffix"] == "mine"
    assert created["training_type"]["type"] == "Lora" and created["training_type"]["lora_r"] == 16
    assert created["random_seed"] == 7 and created["training_method"]["method"] == "sft"
    assert seen[-1] == ("valid.jsonl", validation.stat().st_size, validation.stat().st_size)
    assert together_api.contents["file-0001"] == dataset.read_bytes()

    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    points = folder.load_metrics()
    assert [p.step for p in points] == [1, 2, 3, 4, 5, 6]
    assert [p.step for p in points if p.valid_loss is not None] == [2, 4, 6]
    assert points[0].train_loss == pytest.approx(2.0) and points[0].total_steps == 6
    status = folder.read_status()
    job = together_api.jobs[status.job_id]
    assert status.fine_tuned_model == job.output_name
    assert [c["step"] for c in status.checkpoints] == [3, 6, 6]
    log = folder.log_txt.read_text()
    assert "Training started" in log and "Checkpoint saved at step 3" in log
    assert log.count("Job finished") == 1
    assert backend.result(folder).model == job.output_name

    adapter = backend.download(folder)
    assert adapter.parent == folder.output_dir and adapter.name.endswith("adapter.tar.zst")
    assert adapter.read_bytes() == ARCHIVE + b"adapter"
    assert backend.download(folder, merged=True).read_bytes() == ARCHIVE + b"merged"
    every_file = b"".join(p.read_bytes() for p in folder.path.rglob("*") if p.is_file())
    assert together_api.api_key.encode() not in every_file


def test_dpo_and_full_reach_the_job(backend, together_api, tmp_path, store) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pair = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "hello"}],
        "non_preferred_output": [{"role": "assistant", "content": "go away"}],
    }
    pairs.write_bytes(b"".join(orjson.dumps(pair) + b"\n" for _ in range(5)))
    spec = hosted_spec(
        "together",
        model=MODEL,
        data=str(pairs),
        method="dpo",
        hyperparameters={"beta": 0.2, "n_epochs": 2, "learning_rate": 2e-5, "lora_r": 8},
    )
    backend.launch(replace(spec, adapter="full"), store)
    created = together_api.created[0]
    assert created["training_method"] == {"method": "dpo", "dpo_beta": 0.2} | {
        k: v for k, v in created["training_method"].items() if k not in ("method", "dpo_beta")
    }
    assert created["training_type"] == {"type": "Full"}
    assert created["n_epochs"] == 2 and created["learning_rate"] == pytest.approx(2e-5)


def test_restart_and_killed_follower_write_each_point_and_line_once(
    backend, together_api, dataset, validation, store
) -> None:
    folder = backend.launch(spec_for(dataset, validation), store)
    first = backend.mirror(folder)
    first.sync_once()
    stale = (folder.path / CURSOR_FILE).read_bytes()
    for _ in range(3):
        first.sync_once()
    # A follower killed after writing its lines but before saving its cursor leaves this:
    (folder.path / CURSOR_FILE).write_bytes(stale)
    assert "Training started" in folder.log_txt.read_text()
    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    steps = [p.step for p in folder.load_metrics()]
    assert steps == sorted(set(steps)) == [1, 2, 3, 4, 5, 6]
    lines = folder.log_txt.read_text().splitlines()
    assert sum("Training started" in line for line in lines) == 1
    assert sum("Checkpoint saved at step 3" in line for line in lines) == 1


def assert_every_loss_point_once(folder: RunFolder) -> None:
    """Steps 1-6 once each, train loss on each, validation loss on every second (n_evals)."""
    points = folder.load_metrics()
    assert [p.step for p in points] == [1, 2, 3, 4, 5, 6]
    assert all(p.train_loss == pytest.approx(2.0 / p.step, abs=1e-4) for p in points)
    assert [(p.step, p.valid_loss) for p in points if p.valid_loss is not None] == [
        (2, pytest.approx(1.25)),
        (4, pytest.approx(0.625)),
        (6, pytest.approx(2.5 / 6, abs=1e-4)),
    ]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "retry_after": 0.01},
        {"status": 500},
        {"status": 503, "retry_after": 0.01},
        {"drop": True},
    ],
    ids=["429-retry-after", "500", "503", "dropped-connection"],
)
@pytest.mark.parametrize("where", ["/metrics", "/fine-tunes/ft-", "/events"])
def test_transient_faults_back_off_and_lose_nothing(
    backend, together_api, dataset, validation, store, fault, where
) -> None:
    folder = backend.launch(spec_for(dataset, validation), store)
    together_api.inject(times=3, path_contains=where, method="GET", **fault)
    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    assert_every_loss_point_once(folder)
    assert "Reconnecting" in folder.log_txt.read_text()
    assert folder.read_status().reconnecting is False


def test_faults_and_restarts_together_write_each_point_once(
    backend, together_api, dataset, validation, store
) -> None:
    """Followers that stop mid-job, one after another, through faults: nothing lost or doubled."""
    together_api.auto_advance = False
    folder = backend.launch(spec_for(dataset, validation), store)
    job_id = folder.read_status().job_id
    for _ in range(4):
        together_api.advance(job_id)
        together_api.inject(429, times=1, path_contains="/metrics", retry_after=0.01)
        together_api.inject(drop=True, times=1, path_contains="/events")
        stop = threading.Event()
        waits: list[float] = []

        def sleep(seconds: float, waits: list[float] = waits, stop: threading.Event = stop) -> bool:
            waits.append(seconds)
            if len(waits) > 3:  # a few polls, then this follower is stopped
                stop.set()
            return stop.is_set()

        mirror = backend.mirror(folder)
        mirror.intervals = FAST
        mirror.run(stop=stop, sleep=sleep)
    together_api.auto_advance = True
    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    assert_every_loss_point_once(folder)
    lines = folder.log_txt.read_text().splitlines()
    assert sum("Training started" in line for line in lines) == 1


def test_metrics_listed_after_completion_are_collected_within_the_grace(
    backend, together_api, dataset, validation, store
) -> None:
    together_api.late_steps = 2  # steps 5 and 6 are listed only after a few more polls
    together_api.late_polls = 3
    folder = backend.launch(spec_for(dataset, validation), store)
    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    assert_every_loss_point_once(folder)
    status = folder.read_status()
    assert "unfetched" not in status.extra and status.detail == ""


def test_metrics_that_never_come_are_recorded_as_unfetched(
    backend, together_api, dataset, validation, store
) -> None:
    together_api.late_steps = 2
    together_api.late_polls = 10**9
    folder = backend.launch(spec_for(dataset, validation), store)
    mirror = backend.mirror(folder)
    mirror.intervals = replace(FAST, ended_grace=0.05)
    assert mirror.run() is RunState.SUCCEEDED
    assert [p.step for p in folder.load_metrics()] == [1, 2, 3, 4]
    status = folder.read_status()
    assert status.extra["unfetched"] == "its last metrics"
    how = f"finetune-tui attach {status.job_id} --backend together"
    assert status.extra["fetch_with"] == how and how in status.detail
    assert "Together AI has not sent them" in status.detail
    assert status.detail in folder.log_txt.read_text()


def test_a_full_disk_does_not_stop_the_follower(
    backend,
    together_api,
    dataset,
    validation,
    store,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import backends.hosted.mirror as mirror_module
    import backends.runs.store as store_module
    from tests.support.helpers import FullDisk

    folder = backend.launch(spec_for(dataset, validation), store)
    full = FullDisk(store_module.write_json_atomic, 5)
    monkeypatch.setattr(store_module, "write_json_atomic", full)
    monkeypatch.setattr(mirror_module, "write_json_atomic", full)  # the cursor, result.json
    assert follow_to_end(backend, folder) is RunState.SUCCEEDED
    assert full.left == 0
    assert folder.read_status().state is RunState.SUCCEEDED  # not left running
    assert_every_loss_point_once(folder)
    assert capfd.readouterr().err.count("disk full") == 1  # said once


def test_a_key_rejected_while_following_stops_with_no_key_written(
    backend, together_api, dataset, validation, store
) -> None:
    together_api.auto_advance = False
    folder = backend.launch(spec_for(dataset, validation), store)
    together_api.api_key = "tg-rotated-key-5555"  # the key the follower holds no longer works
    with pytest.raises(HostedError, match="API key rejected"):
        backend.follow(folder)
    status = folder.read_status()
    assert "API key rejected" in status.detail and not status.reconnecting
    assert "Following stopped: Together AI: API key rejected" in folder.log_txt.read_text()
    every_file = b"".join(p.read_bytes() for p in folder.path.rglob("*") if p.is_file())
    assert b"tg-test-key-0123456789" not in every_file
    assert b"tg-rotated-key-5555" not in every_file


def test_a_rejected_key_says_so(together_api, dataset, store) -> None:
    settings = TogetherSettings(base_url=together_api.base_url, timeout_s=5.0)
    wrong = TogetherBackend(settings, secret="tg-wrong-key-9999", start_followers=False)
    with pytest.raises(HostedError) as raised:
        wrong.launch(spec_for(dataset, hyperparameters={}), store)
    message = str(raised.value)
    assert "API key rejected" in message and "TOGETHER_API_KEY" in message
    assert "free trial" not in message and "tg-wrong-key-9999" not in message
    (run,) = store.list_folders()
    assert "API key rejected" in (run.read_status().error or "")
    with pytest.raises(HostedError, match="API key rejected"):
        wrong.check()


def test_a_failed_job_gives_the_reason_from_its_error_event(
    backend, together_api, dataset, store
) -> None:
    together_api.fail_at_step = 3
    folder = backend.launch(spec_for(dataset, hyperparameters={}), store)
    assert follow_to_end(backend, folder) is RunState.FAILED
    assert folder.read_status().error == together_api.fail_reason
    assert [p.step for p in folder.load_metrics()] == [1, 2]


def test_a_rejected_file_shows_the_providers_message(backend, together_api, dataset, store) -> None:
    together_api.reject_files = True
    with pytest.raises(
        HostedError, match=re.escape("rejected train.jsonl: Line 3: missing field 'messages'")
    ):
        backend.launch(spec_for(dataset, hyperparameters={}), store)
    assert together_api.created == []


def test_cancel_through_the_control_path(
    backend, together_api, dataset, store, monkeypatch
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", together_api.api_key)
    monkeypatch.setenv("TOGETHER_BASE_URL", together_api.base_url)
    together_api.auto_advance = False
    folder = backend.launch(spec_for(dataset, hyperparameters={}), store)
    assert "Cancel requested" in control.cancel(folder)
    job = together_api.jobs[folder.read_status().job_id]
    assert job.status == "cancel_requested"
    together_api.advance(job.id)
    mirror = TogetherMirror(folder, backend.client(), job.id)
    assert mirror.sync_once() is RunState.CANCELLED
    with pytest.raises(BackendError, match="cannot be paused"):
        control.pause(folder)


def test_detached_follower_mirrors_the_job(together_api, dataset, store, monkeypatch) -> None:
    from tests.support.helpers import wait_for
    from tests.support.runs import ended

    monkeypatch.setenv("TOGETHER_API_KEY", together_api.api_key)
    monkeypatch.setenv("TOGETHER_BASE_URL", together_api.base_url)
    folder = TogetherBackend().launch(spec_for(dataset, hyperparameters={}), store)
    wait_for(lambda: ended(folder))
    assert folder.read_status().state is RunState.SUCCEEDED
    assert [p.step for p in folder.load_metrics()] == [1, 2, 3, 4, 5, 6]
    assert "TOGETHER_API_KEY" not in (folder.path / "run.json").read_text()


def test_prepare_checks_together_rules(backend, dataset, tmp_path) -> None:
    unknown = hosted_spec("together", model="someone/new-model", data=str(dataset))
    (problem,) = backend.prepare(unknown)
    assert not problem.fatal and "price unknown" in problem.message
    dpo_on_chat = hosted_spec("together", model=MODEL, data=str(dataset), method="dpo")
    assert any("preference pairs" in p.message for p in backend.prepare(dpo_on_chat))
    evals_alone = spec_for(dataset)
    assert any("validation file" in p.message for p in backend.prepare(evals_alone))
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert any(
        "would refuse" in p.message for p in backend.prepare(spec_for(empty, hyperparameters={}))
    )
    lora_only = hosted_spec("together", model="Qwen/Qwen2.5-72B-Instruct", data=str(dataset))
    assert any(p.where == "adapter" for p in backend.prepare(replace(lora_only, adapter="full")))
    bad = spec_for(dataset, hyperparameters={"lora_dropout": 1.5, "learning_rate_multiplier": 2})
    messages = " ".join(p.message for p in backend.prepare(bad))
    assert "lora_dropout must be below 1" in messages and "Unknown hyperparameter" in messages


def test_jobs_and_attach(backend, together_api, dataset, store) -> None:
    folder = backend.launch(spec_for(dataset, hyperparameters={}), store)
    job_id = folder.read_status().job_id
    (row,) = backend.list_jobs()
    assert row.job_id == job_id and row.model == MODEL
    attached = backend.attach(job_id, store)
    assert attached.read_spec().adapter == "lora"
    assert follow_to_end(backend, attached) is RunState.SUCCEEDED


def test_chat_with_the_tuned_model_through_the_openai_compatible_endpoint(together_api) -> None:
    import openai

    client = openai.OpenAI(api_key=together_api.api_key, base_url=f"{together_api.base_url}/v1")
    answer = client.chat.completions.create(
        model="user/model-ft", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "echo: hi"
    assert together_api.chat_models == ["user/model-ft"]


def test_stop_leaves_the_job_running(backend, together_api, dataset, store) -> None:
    together_api.auto_advance = False
    folder = backend.launch(spec_for(dataset, hyperparameters={}), store)
    stop = threading.Event()
    stop.set()
    assert backend.follow(folder, stop=stop) is not RunState.SUCCEEDED


def test_a_bare_model_name_is_refused_with_the_full_id_together_needs(tmp_path) -> None:
    from backends.catalog import Provider, hosted_models
    from backends.hosted.together import TogetherBackend, TogetherSettings
    from backends.runs import RunSpec

    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            f'{{"messages":[{{"role":"user","content":"q{i}"}},{{"role":"assistant","content":"a"}}]}}\n'
            for i in range(20)
        )
    )
    backend = TogetherBackend(TogetherSettings(), secret="tg-key")
    full = hosted_models(Provider.TOGETHER)[0].name
    bare = full.split("/", 1)[1]
    problems = backend.prepare(RunSpec(backend="together", model=bare, dataset=str(data)))
    fatal = [p for p in problems if p.fatal and p.where == "model"]
    assert fatal and full in fatal[0].message and f"not {bare}" in fatal[0].message
    # The full id is what the catalog lists (and what the Settings step proposes).
    ok = backend.prepare(RunSpec(backend="together", model=full, dataset=str(data)))
    assert not [p for p in ok if p.fatal and p.where == "model"]
