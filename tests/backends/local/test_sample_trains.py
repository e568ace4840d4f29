"""The shipped sample (F3 on the Dataset step) trains end to end on the local backend.

The tiny test model's chat template cannot render tool calls: the Dataset report and the
worker agree that those examples are skipped (a counted warning), never a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.data.samples import sample_dataset
from backends.local.backend import LocalBackend
from backends.local.memory import GpuInventory
from backends.local.settings import LocalSettings
from backends.local.worker import run_worker
from backends.preflight import preflight
from backends.runs import RunStore
from backends.runs.values import RunState

NO_GPU = GpuInventory((), "", "no GPU in tests")


@pytest.mark.slow
def test_the_sample_trains_on_the_tiny_model(tiny_model: Path, store: RunStore) -> None:
    sample = sample_dataset()
    settings = LocalSettings(
        max_steps=4, batch_size=2, lora_r=4, lora_alpha=8, max_length=128, save_steps=1000
    )
    spec = settings.to_spec(
        model=str(tiny_model), dataset=str(sample.train), validation=str(sample.validation)
    )
    checked = preflight(LocalBackend(inventory=NO_GPU), spec)
    assert not checked.data_blocked, [p.message for p in checked.problems]
    assert not [p for p in checked.problems if p.fatal]
    folder = store.create(spec)
    assert run_worker(folder.path) == 0, folder.log_txt.read_text(errors="replace")
    status = folder.read_status()
    assert status.state is RunState.SUCCEEDED and not status.error
    assert [p.step for p in folder.load_metrics() if p.train_loss is not None][-1] == 4
    log = folder.log_txt.read_text(errors="replace")
    assert "tool" in log  # the skipped examples are counted in the log
    assert (folder.output_dir / "adapter" / "adapter_config.json").is_file()
