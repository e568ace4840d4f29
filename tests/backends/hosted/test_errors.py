"""Every failure the provider or the network can produce, explained plainly, with no key in the text."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pytest

from backends.hosted.backend import OpenAIBackend
from backends.hosted.errors import ALTERNATIVES, HostedError, TrainingNotAvailable, redact
from backends.hosted.settings import HostedSettings
from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import files_containing


def backend_for(emulator: FineTuneAPI, key: str | None = None) -> OpenAIBackend:
    settings = HostedSettings(base_url=emulator.base_url, timeout_s=3.0)
    return OpenAIBackend(settings, secret=key or emulator.api_key, start_followers=False)


def spec(dataset: Path) -> RunSpec:
    return RunSpec(backend="openai", model="gpt-4o-mini-2024-07-18", dataset=str(dataset))


def test_bad_key_is_a_401_explanation_without_the_key(emulator: FineTuneAPI) -> None:
    wrong = "sk-proj-wrongwrongwrong-9876543210"
    with pytest.raises(HostedError) as caught:
        backend_for(emulator, wrong).check()
    error = caught.value
    assert error.kind == "auth" and error.status_code == 401 and not error.retryable
    assert "OPENAI_API_KEY" in str(error)
    assert wrong not in str(error) and "3210" not in str(error)


def test_check_accepts_a_good_key(emulator: FineTuneAPI) -> None:
    assert "accepted" in backend_for(emulator).check()


def test_rate_limit_is_retryable_with_the_servers_delay(emulator: FineTuneAPI) -> None:
    emulator.inject(429, times=10, retry_after=0.05, path_contains="/fine_tuning/jobs")
    with pytest.raises(HostedError) as caught:
        backend_for(emulator).check()
    assert caught.value.kind == "rate_limit" and caught.value.retryable
    assert caught.value.retry_after == pytest.approx(0.05)


def test_a_short_429_burst_is_absorbed(emulator: FineTuneAPI) -> None:
    emulator.inject(429, times=1, retry_after=0.01)
    assert "accepted" in backend_for(emulator).check()


def test_insufficient_quota_is_not_retried(emulator: FineTuneAPI) -> None:
    emulator.inject(
        429, times=10, code="insufficient_quota", message="You exceeded your current quota"
    )
    with pytest.raises(HostedError) as caught:
        backend_for(emulator).check()
    assert caught.value.kind == "quota" and not caught.value.retryable


def test_server_error_is_retryable(emulator: FineTuneAPI) -> None:
    emulator.inject(500, times=10, retry_after=0.01)
    with pytest.raises(HostedError) as caught:
        backend_for(emulator).check()
    assert caught.value.kind == "server" and caught.value.retryable
    assert "500" in str(caught.value)


def test_network_down_names_the_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = HostedSettings(base_url=f"http://127.0.0.1:{port}/v1", timeout_s=1.0)
    backend = OpenAIBackend(settings, secret="sk-test-network-0000", start_followers=False)
    with pytest.raises(HostedError) as caught:
        backend.check()
    assert caught.value.kind in ("network", "timeout") and caught.value.retryable
    assert "127.0.0.1" in str(caught.value)


def test_unknown_job_is_not_found(emulator: FineTuneAPI, store: RunStore) -> None:
    with pytest.raises(HostedError) as caught:
        backend_for(emulator).attach("ftjob-doesnotexist", store)
    assert caught.value.kind == "not_found"
    assert store.list_folders() == []


def test_missing_key_is_a_config_message(emulator: FineTuneAPI) -> None:
    backend = OpenAIBackend(HostedSettings(base_url=emulator.base_url), start_followers=False)
    assert not backend.availability().ok
    assert "OPENAI_API_KEY" in backend.availability().reason
    with pytest.raises(HostedError, match="OPENAI_API_KEY"):
        backend.check()


def test_training_not_available_explains_the_wind_down_and_alternatives(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    emulator.refuse_training = True
    backend = backend_for(emulator)
    with pytest.raises(TrainingNotAvailable) as caught:
        backend.launch(spec(dataset), store)
    text = str(caught.value)
    assert "winding down" in text and "Azure OpenAI" in text and "Local" in text
    assert caught.value.hint == ALTERNATIVES
    [folder] = store.list_folders()
    status = folder.read_status()
    assert status.state is RunState.FAILED and "Azure OpenAI" in (status.error or "")
    assert files_containing(store.root, emulator.api_key) == []


def test_monitoring_keeps_working_when_training_is_refused(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    backend = backend_for(emulator)
    folder = backend.launch(spec(dataset), store)
    emulator.refuse_training = True
    assert backend.follow(folder) is RunState.SUCCEEDED
    assert backend.list_jobs()[0].state is RunState.SUCCEEDED


def test_after_the_cutoff_prepare_refuses_with_alternatives(
    emulator: FineTuneAPI, dataset: Path
) -> None:
    backend = OpenAIBackend(
        HostedSettings(base_url=emulator.base_url),
        secret=emulator.api_key,
        today=date(2027, 2, 1),
        start_followers=False,
    )
    fatal = [p for p in backend.prepare(spec(dataset)) if p.fatal]
    assert fatal and "Azure OpenAI" in fatal[0].message
    assert backend.availability().ok  # monitoring still works


def test_invalid_file_is_a_400_with_the_field(emulator: FineTuneAPI) -> None:
    import openai

    client = openai.OpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)
    backend = backend_for(emulator)
    with pytest.raises(HostedError) as caught:
        backend._call(
            client.fine_tuning.jobs.create, model="gpt-4o-mini", training_file="file-nope"
        )
    assert caught.value.kind == "invalid" and "training_file" in str(caught.value)


def test_redact_hides_keys_tokens_and_masked_echoes() -> None:
    text = "key sk-abc123456789 masked sk-ab*****6789 Bearer eyJhbGciOiJIUzI1NiJ9.x my-own-secret"
    cleaned = redact(text, ["my-own-secret"])
    for fragment in ("sk-abc", "6789", "eyJhbGci", "my-own-secret"):
        assert fragment not in cleaned
