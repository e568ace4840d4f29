"""Shared fixtures: every test runs offline, in its own folder, on a fixed day."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

# Offline and deterministic, whatever the machine says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["TEXTUAL_ANIMATIONS"] = "none"
for secret in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
    os.environ.pop(secret, None)

TODAY = date(2026, 11, 24)
"""The day every test lives on: 43 days before OpenAI stops taking new fine-tuning jobs."""


def fixed_clock() -> datetime:
    return datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def own_config_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person running the tests may have a keymap of their own: never read it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so the default workspace is ``./.finetune`` there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_app(in_tmp: Path) -> Callable[..., object]:
    from tui.app import FinetuneApp

    def factory(workspace: str | Path | None = None, **kwargs: object) -> FinetuneApp:
        kwargs.setdefault("cursor_blink", False)
        return FinetuneApp(workspace, today=kwargs.pop("today", TODAY), clock=fixed_clock, **kwargs)  # type: ignore[arg-type]

    return factory
