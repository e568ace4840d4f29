"""The Backend stage's fixtures: a fixed GPU, an emulator that refuses training."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.local import backend as local_backend_module
from backends.local import memory
from backends.local.memory import GpuInventory
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.backend_stage import ONE_GPU


@pytest.fixture(autouse=True)
def fixed_machine(monkeypatch: pytest.MonkeyPatch) -> GpuInventory:
    """Every test sees one H100 and the ``[local]`` extra installed, whatever this machine has."""
    monkeypatch.setattr(local_backend_module, "visible_gpus", lambda **_: ONE_GPU)
    monkeypatch.setattr(memory, "visible_gpus", lambda **_: ONE_GPU)
    monkeypatch.setattr(local_backend_module, "missing_packages", lambda: [])
    return ONE_GPU


@pytest.fixture
def refusing_emulator() -> Iterator[FineTuneAPI]:
    with FineTuneAPI(refuse_training=True) as api:
        yield api
