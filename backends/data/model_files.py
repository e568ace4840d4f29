"""Which files a local model name points at: a Hugging Face hub id, a local folder, a ``.gguf`` file.

``resolve_model`` says what a name is and where its files are, without
loading anything or touching the network; ``gguf_cache_folder`` is where the
dequantised copy of a GGUF file is kept (under ``locations.cache_root()``),
and ``hf_cache_dir`` the Hugging Face cache. The data report (exact local
token counts) and local training (``backends.local.models``) both resolve
models here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from backends.backend import BackendError
from backends.locations import cache_root

HUB = "hub"
FOLDER = "folder"
GGUF = "gguf"
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
DONE_MARKER = ".finetune-tui-complete"
"""Written last into a finished dequantised copy."""


class ModelUnavailable(BackendError):
    """The model's files could not be found or fetched; the message says where we looked."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    """What the person typed."""
    kind: str
    """``hub``, ``folder`` or ``gguf``."""
    path: str
    """What ``from_pretrained`` takes: a hub id or a folder (the GGUF's folder for ``gguf``)."""
    gguf_file: str | None = None
    """For ``gguf``: the file name inside ``path``."""

    @property
    def label(self) -> str:
        return {HUB: "Hugging Face model", FOLDER: "local model folder", GGUF: "GGUF file"}[
            self.kind
        ]


def hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def resolve_model(name: str) -> ResolvedModel:
    """What ``name`` is; raises ``ModelUnavailable`` for a path that does not exist."""
    text = name.strip()
    path = Path(text).expanduser()
    if text.lower().endswith(".gguf"):
        if not path.is_file():
            raise ModelUnavailable(
                f"The GGUF file {text} does not exist.",
                hint="Give the path of a .gguf file (llama.cpp / Ollama models are GGUF files).",
            )
        resolved = path.resolve()
        return ResolvedModel(text, GGUF, str(resolved.parent), resolved.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(
                f"The folder {text} has no config.json: it is not a Hugging Face model folder.",
                hint="Set the model to a folder saved with save_pretrained (config.json, "
                "tokenizer files, *.safetensors), a .gguf file, or a hub id.",
            )
        return ResolvedModel(text, FOLDER, str(path.resolve()))
    if text.startswith((".", "/", "~")) or not _HUB_ID_RE.match(text):
        raise ModelUnavailable(
            f"{text} is neither an existing folder or .gguf file nor a Hugging Face model id.",
            hint="Use an id like HuggingFaceTB/SmolLM2-135M-Instruct, a model folder, or a .gguf file.",
        )
    return ResolvedModel(text, HUB, text)


def gguf_cache_folder(model: ResolvedModel) -> Path:
    """Where the dequantised copy of a GGUF file lives (changes when the file changes)."""
    assert model.gguf_file is not None
    file = Path(model.path) / model.gguf_file
    stat = file.stat()
    key = f"{file.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root() / "gguf" / f"{Path(model.gguf_file).stem}-{digest}"
