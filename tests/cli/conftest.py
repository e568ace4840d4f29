"""The commands' fixtures: the emulator's key and address in the environment, as a person sets them."""

from __future__ import annotations

import pytest

from tests.fakes.finetune_api import FineTuneAPI


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch, emulator: FineTuneAPI) -> FineTuneAPI:
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    return emulator
