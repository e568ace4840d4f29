"""Model resolution: hub id, folder, .gguf; the offline message; no hang without network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.local.models import (
    FOLDER,
    GGUF,
    HUB,
    ModelUnavailable,
    read_model_config,
    resolve_model,
)
from tests.support.helpers import PATIENCE_S

ROOT = Path(__file__).resolve().parents[3]


def test_a_model_folder_resolves_and_its_config_reads(tiny_model: Path) -> None:
    resolved = resolve_model(str(tiny_model))
    assert resolved.kind == FOLDER
    assert read_model_config(resolved)["model_type"] == "llama"


def test_a_folder_without_config_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"no config\.json"):
        resolve_model(str(tmp_path))


def test_a_missing_gguf_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model(str(tmp_path / "model.Q4_K_M.gguf"))


def test_an_existing_gguf_resolves_to_its_folder(tmp_path: Path) -> None:
    file = tmp_path / "m.gguf"
    file.write_bytes(b"GGUF")
    resolved = resolve_model(str(file))
    assert (resolved.kind, resolved.path, resolved.gguf_file) == (GGUF, str(tmp_path), "m.gguf")


def test_hub_ids_and_nonsense() -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").kind == HUB
    with pytest.raises(ModelUnavailable):
        resolve_model("./no/such/folder")


def test_offline_says_which_model_where_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelUnavailable) as caught:
        read_model_config(resolve_model("someone/not-cached-model"))
    text = str(caught.value)
    assert "someone/not-cached-model" in text
    assert "HF_HUB_OFFLINE" in text
    assert "cache" in text and "local copy" in text


def test_no_network_fails_fast_with_the_same_advice(tmp_path: Path) -> None:
    """Online mode, but the Hub is unreachable (a closed local port): a message, not a hang."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_ETAG_TIMEOUT": "3",
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "from backends.local.models import read_model_config, resolve_model, ModelUnavailable\n"
        "try:\n    read_model_config(resolve_model('someone/model'))\n"
        "except ModelUnavailable as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=PATIENCE_S
    )
    assert "could not be reached" in done.stdout, done.stderr[-2000:]
    assert "someone/model" in done.stdout


def test_a_gguf_file_is_parsed_once_while_a_model_loads(tmp_path: Path) -> None:
    """``gguf_read_once``: inside, one reader per file and one tensor-name table per shape
    (transformers asks three times and ~300 times); outside, gguf's own functions again."""
    gguf = pytest.importorskip("gguf")
    from backends.local.models import gguf_read_once

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    real_reader, real_names = gguf.GGUFReader, gguf.get_tensor_name_map
    with gguf_read_once():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(str(path)) is first
        assert [t.name for t in first.tensors] == ["token_embd.weight"]
        names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
        assert gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2) is names
        assert names.get_name("model.embed_tokens") == "token_embd"
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (real_reader, real_names)
    assert gguf.GGUFReader(path) is not first
