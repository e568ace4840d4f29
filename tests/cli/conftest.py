"""The commands' fixtures: the emulator's key and address in the environment, as a person sets them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.finetune_api import FineTuneAPI
from tests.fakes.together_api import TogetherAPI


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, emulator: FineTuneAPI) -> FineTuneAPI:
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    return emulator


@pytest.fixture
def refusing_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FineTuneAPI]:
    """OpenAI answering 403 ``training_not_available`` to a new job, key and address set."""
    with FineTuneAPI(refuse_training=True) as api:
        monkeypatch.setenv("OPENAI_API_KEY", api.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        yield api


@pytest.fixture
def together_env(monkeypatch: pytest.MonkeyPatch, together_api: TogetherAPI) -> TogetherAPI:
    monkeypatch.setenv("TOGETHER_API_KEY", together_api.api_key)
    monkeypatch.setenv("TOGETHER_BASE_URL", together_api.base_url)
    return together_api
