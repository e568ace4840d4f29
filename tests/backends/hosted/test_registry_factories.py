"""The registry builds every backend: ``create`` with the Settings step's options, ``reconnect`` to a run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backends import registry
from backends.hosted.azure import AzureBackend
from backends.hosted.backend import OpenAIBackend
from backends.local.backend import LocalBackend
from backends.runs import RunStore
from backends.runs.values import RunSpec


def test_create_passes_the_settings_step_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    azure = registry.get("azure").create(
        secret="s",
        today=date(2026, 1, 1),
        azure_endpoint=" https://x.openai.azure.com ",
        api_version="2024-10-21",
    )
    assert isinstance(azure, AzureBackend)
    assert azure.settings.azure_endpoint == "https://x.openai.azure.com"
    assert azure.settings.api_version == "2024-10-21"
    openai = registry.get("openai").create(azure_endpoint="https://ignored")
    assert isinstance(openai, OpenAIBackend) and openai.settings.azure_endpoint is None
    assert isinstance(registry.get(registry.LOCAL).create(), LocalBackend)


def test_reconnect_builds_the_backend_that_launched_the_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    for name, kind in (("openai", OpenAIBackend), ("azure", AzureBackend), ("local", LocalBackend)):
        folder = store.create(RunSpec(backend=name, model="m", dataset="d.jsonl"))
        assert type(registry.reconnect(folder)) is kind


def test_only_azure_needs_deployment_words() -> None:
    assert registry.get("openai").deployment_instructions("ft:x") is None
    words = registry.get("azure").deployment_instructions("gpt-4o-mini.ft-1")
    assert words and "gpt-4o-mini.ft-1" in words


def test_the_registry_says_which_objective_and_adapter_a_backend_takes() -> None:
    local, openai = registry.get("local"), registry.get("openai")
    assert local.refusal(objective="supervised", adapter="qlora") is None
    assert local.refusal(objective="dpo") is None  # local DPO (trl's DPOTrainer)
    assert openai.refusal(objective="dpo") is None and openai.supports(objective="dpo")
    assert openai.refusal(adapter="lora") == (
        "OpenAI chooses the adaptation itself: --adapter is not accepted."
    )
    assert not openai.supports(adapter="full") and local.supports(adapter="full")
