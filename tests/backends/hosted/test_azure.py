"""Azure OpenAI: the AzureOpenAI client (api-key and Entra token), the v1 route, Azure's rules, deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.hosted.azure import (
    AzureBackend,
    DeploymentTarget,
    azure_models,
    check_azure_file,
    deployment_instructions,
    normalise_training_type,
)
from backends.hosted.errors import HostedError
from backends.hosted.settings import AZURE, HostedSettings
from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import files_containing


def azure_spec(dataset: Path, **changes: object) -> RunSpec:
    values: dict[str, object] = {
        "backend": "azure",
        "model": "gpt-4.1-mini-2025-04-14",
        "dataset": str(dataset),
        "suffix": "arith-v1",
        "settings": {"training_type": "GlobalStandard"},
    }
    values.update(changes)
    return RunSpec(**values)  # type: ignore[arg-type]


def test_azure_launch_and_follow_with_api_key(
    azure_backend: AzureBackend, store: RunStore, emulator: FineTuneAPI, dataset: Path
) -> None:
    folder = azure_backend.launch(azure_spec(dataset), store)
    assert ("POST", "/fine_tuning/jobs") in emulator.requests
    job = emulator.jobs[folder.read_status().job_id or ""]
    assert job.params["trainingType"] == "GlobalStandard"
    assert azure_backend.follow(folder) is RunState.SUCCEEDED
    assert [p.step for p in folder.load_metrics()] == list(range(1, 13))
    assert folder.read_spec().settings["connection"]["azure_endpoint"] == emulator.azure_endpoint
    assert files_containing(store.root, emulator.api_key) == []


def test_azure_with_an_entra_token(emulator: FineTuneAPI, store: RunStore, dataset: Path) -> None:
    settings = HostedSettings(
        provider=AZURE,
        azure_endpoint=emulator.azure_endpoint,
        api_version="2025-04-01-preview",
        azure_auth="entra",
    )
    backend = AzureBackend(settings, secret=emulator.entra_token, start_followers=False)
    assert "accepted" in backend.check()
    assert settings.secret_env_var == "AZURE_OPENAI_AD_TOKEN"


def test_azure_v1_route_with_the_plain_client(
    emulator: FineTuneAPI, store: RunStore, dataset: Path
) -> None:
    settings = HostedSettings(provider=AZURE, base_url=emulator.azure_v1_base_url)
    backend = AzureBackend(settings, secret=emulator.api_key, start_followers=False)
    folder = backend.launch(azure_spec(dataset), store)
    assert backend.follow(folder) is RunState.SUCCEEDED


def test_azure_bad_key_message(emulator: FineTuneAPI) -> None:
    settings = HostedSettings(
        provider=AZURE, azure_endpoint=emulator.azure_endpoint, api_version="2025-04-01-preview"
    )
    backend = AzureBackend(
        settings, secret="0123456789abcdef0123456789abcdef", start_followers=False
    )
    with pytest.raises(HostedError) as caught:
        backend.check()
    assert caught.value.kind == "auth" and "AZURE_OPENAI_API_KEY" in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value)


def test_azure_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    settings = HostedSettings.from_env(AZURE)
    assert (
        settings.azure_endpoint == "https://res.openai.azure.com"
        and settings.api_version == "2024-10-21"
    )
    assert AzureBackend(settings).availability().ok is False  # no key yet
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k" * 32)
    assert AzureBackend(settings).availability().ok


def test_azure_hint_matches_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint: the hint names the endpoint variable; endpoint but no key: the key."""
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    found = AzureBackend(HostedSettings.from_env(AZURE)).availability()
    assert "AZURE_OPENAI_ENDPOINT" in found.reason and found.hint.startswith(
        "export AZURE_OPENAI_ENDPOINT=https://"
    )
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    found = AzureBackend(HostedSettings.from_env(AZURE)).availability()
    assert "AZURE_OPENAI_API_KEY" in found.reason
    assert found.hint == "export AZURE_OPENAI_API_KEY=..."


def test_azure_file_rules(tmp_path: Path) -> None:
    few = tmp_path / "few.jsonl"
    few.write_bytes(b'{"messages": []}\n' * 3)
    problems = check_azure_file(few)
    assert any("at least 10" in p.message and p.fatal for p in problems)
    assert any("byte-order mark" in p.message and not p.fatal for p in problems)
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\xef\xbb\xbf" + b'{"messages": []}\n' * 12)
    assert check_azure_file(good) == []
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\xef\xbb\xbf" + b'{"messages": []}\n' * 11 + b"\xff\xfe\n")
    assert any("line 12" in p.message and p.where.endswith(":12") for p in check_azure_file(broken))


def test_azure_prepare_checks_suffix_and_tier(azure_backend: AzureBackend, dataset: Path) -> None:
    problems = azure_backend.prepare(
        azure_spec(dataset, suffix="has space", settings={"training_type": "gold"})
    )
    wheres = {p.where for p in problems if p.fatal}
    assert {"suffix", "training_type"} <= wheres
    assert normalise_training_type("global standard") == "GlobalStandard"
    assert normalise_training_type("developer") == "Developer"


def test_deployment_instructions_fill_in_the_model() -> None:
    target = DeploymentTarget("sub-1", "rg-1", "res-1", "my-ft")
    text = deployment_instructions("gpt-4.1-mini-2025-04-14.ft-abc", target)
    assert (
        "az cognitiveservices account deployment create --resource-group rg-1 --name res-1" in text
    )
    assert "--model-name gpt-4.1-mini-2025-04-14.ft-abc" in text
    assert "/subscriptions/sub-1/resourceGroups/rg-1/" in text and "deployments/my-ft" in text
    assert "<subscription-id>" in deployment_instructions("m")


def test_azure_model_list_comes_from_the_catalog() -> None:
    names = [m.name for m in azure_models()]
    assert "gpt-4o-mini-2024-07-18" in names and all(
        m.provider.value == "azure" for m in azure_models()
    )
