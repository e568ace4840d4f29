"""Fixtures for the hosted backends: the emulator, a workspace, datasets, backends wired to them."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from backends import processes as detached
from backends.hosted.azure import AzureBackend
from backends.hosted.backend import OpenAIBackend
from backends.hosted.settings import AZURE, HostedSettings
from backends.runs import RunStore
from tests.fakes.emulator_env import clear_secret_env
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials leak into tests; followers poll fast."""
    clear_secret_env(monkeypatch)
    monkeypatch.setenv("FINETUNE_TUI_POLL_INTERVAL", "0.02")


@pytest.fixture(autouse=True)
def reap_followers() -> Iterator[None]:
    """Stop any follower a test started and left running (``spawn_detached`` keeps them listed)."""
    yield
    children = [child for child in detached._children if child.poll() is None]
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=3)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    detached.reap_children()


@pytest.fixture
def emulator() -> Iterator[FineTuneAPI]:
    with FineTuneAPI(script=Script(total_steps=12, eval_every=4, checkpoint_every=6)) as api:
        yield api


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "workspace" / "runs")


def chat_line(i: int) -> bytes:
    return (
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is {i} + {i}?"},
                    {"role": "assistant", "content": str(2 * i)},
                ]
            }
        )
        + b"\n"
    )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"".join(chat_line(i) for i in range(20)))
    return path


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
