"""Fixtures for the backends' tests: a run store and the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.runs import RunStore
from tests.support.tiny_model import build_tiny_model


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """A run store in the test's folder (workspace ``workspace/``)."""
    return RunStore(tmp_path / "workspace" / "runs")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a real tokenizer, built once (no download)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def child_requests(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The requests the dataset scan's children were started with, in order."""
    from backends.data import scan_process

    requests: list[dict[str, object]] = []
    real = scan_process._run_child
    monkeypatch.setattr(
        scan_process,
        "_run_child",
        lambda request, *a: requests.append(request) or real(request, *a),
    )
    return requests
