"""The Backend stage's fixtures: no real credentials, a fixed GPU, a model config, fixture data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from textual.pilot import Pilot

from backends.local import backend as local_backend_module
from backends.local import memory
from backends.local.memory import GpuInfo, GpuInventory
from tests.backends.hosted.conftest import clean_env, reap_followers  # noqa: F401  (autouse fixtures)
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.datasets import copy_sample
from tests.tui.dataset.test_dataset_pilot import wait_for_scan
from tests.tui.decide.test_decide_snapshots import complete_answers, write_decision
from tui.journey import Position

GIB = 1 << 30
ONE_GPU = GpuInventory((GpuInfo(0, "NVIDIA H100 80GB HBM3", 80 * GIB, 79 * GIB),), "nvidia-smi")

SMOLLM2_135M_CONFIG = {
    "model_type": "llama",
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "tie_word_embeddings": True,
}
"""SmolLM2-135M's shape, written as a model folder so no download is needed."""


@pytest.fixture(autouse=True)
def fixed_machine(monkeypatch: pytest.MonkeyPatch) -> GpuInventory:
    """Every test sees one H100 and the ``[local]`` extra installed, whatever this machine has."""
    monkeypatch.setattr(local_backend_module, "visible_gpus", lambda **_: ONE_GPU)
    monkeypatch.setattr(memory, "visible_gpus", lambda **_: ONE_GPU)
    monkeypatch.setattr(local_backend_module, "missing_packages", lambda: [])
    return ONE_GPU


@pytest.fixture
def workdir(in_tmp: Path) -> Path:
    """A decision, the sample data as ``train.jsonl``/``valid.jsonl`` and a ``tiny-model`` folder."""
    write_decision(complete_answers())
    copy_sample(in_tmp)
    model = in_tmp / "tiny-model"
    model.mkdir()
    (model / "config.json").write_bytes(orjson.dumps(SMOLLM2_135M_CONFIG))
    return in_tmp


@pytest.fixture
def emulator() -> Iterator[FineTuneAPI]:
    with FineTuneAPI(script=Script(total_steps=12, eval_every=4, checkpoint_every=6)) as api:
        yield api


@pytest.fixture
def refusing_emulator() -> Iterator[FineTuneAPI]:
    with FineTuneAPI(refuse_training=True) as api:
        yield api


async def settle(pilot: Pilot, delay: float = 0.1) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(delay)


async def scan_and_enter_backend(pilot: Pilot) -> None:
    """Through Decide, scan ``train.jsonl``/``valid.jsonl`` on the Dataset step, on to Backend."""
    await pilot.pause()
    pilot.app.clear_notifications()
    for _ in range(5):
        await pilot.press("ctrl+n")
        await pilot.pause()
    screen = pilot.app.screen
    screen.query_one("#train-path").value = "train.jsonl"
    screen.query_one("#validation-path").value = "valid.jsonl"
    await pilot.pause()
    await pilot.press("ctrl+n")
    await pilot.pause()
    await wait_for_scan(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert pilot.app.position == Position(2, 0)


def choose(backend: str) -> Callable[[Pilot], object]:
    async def pick(pilot: Pilot) -> None:
        from textual.widgets import RadioButton

        pilot.app.screen.query_one(f"#choose-{backend}", RadioButton).value = True
        await pilot.pause()

    return pick
