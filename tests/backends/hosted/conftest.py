"""Fixtures for the hosted backends: a validation file and backends wired to the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.hosted.azure import AzureBackend
from backends.hosted.backend import OpenAIBackend
from backends.hosted.settings import AZURE, HostedSettings
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.data_files import chat_line


@pytest.fixture
def validation(tmp_path: Path) -> Path:
    path = tmp_path / "valid.jsonl"
    path.write_bytes(b"".join(chat_line(i) for i in range(100, 110)))
    return path


@pytest.fixture
def openai_backend(emulator: FineTuneAPI) -> OpenAIBackend:
    settings = HostedSettings(base_url=emulator.base_url, timeout_s=5.0)
    return OpenAIBackend(settings, secret=emulator.api_key, start_followers=False)


@pytest.fixture
def azure_backend(emulator: FineTuneAPI) -> AzureBackend:
    settings = HostedSettings(
        provider=AZURE,
        azure_endpoint=emulator.azure_endpoint,
        api_version="2025-04-01-preview",
        timeout_s=5.0,
    )
    return AzureBackend(settings, secret=emulator.api_key, start_followers=False)
