"""The environment tests against the API emulator start from: no real credentials or endpoints."""

from __future__ import annotations

import pytest

SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
    "TOGETHER_API_KEY",
    "TOGETHER_BASE_URL",
    "TOGETHER_PROJECT_ID",
    "TOGETHER_CUSTOM_HEADERS",
    "WANDB_API_KEY",
)


def clear_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every variable the OpenAI / Azure clients would read a credential or endpoint from."""
    for name in SECRET_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
