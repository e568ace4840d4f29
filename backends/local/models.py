"""Which model a local run trains: a Hugging Face hub id, a local folder, or a ``.gguf`` file.

``resolve_model`` says what a name is and where its files are, without
loading weights (it lives in ``backends.data.model_files``, which the data
report's token count shares; it is re-exported here with the names that go
with it, so local callers import everything about models from this module).
``read_model_config`` reads its ``config.json`` (for the
memory estimate). Neither hangs without network: the Hugging Face cache is
tried first, ``HF_HUB_OFFLINE`` is honoured, and a download of the config is
bounded by a short timeout; a model that cannot be found raises
``ModelUnavailable`` with what was tried and how to point at a local copy.

A GGUF file (llama.cpp, Ollama) is dequantised once with transformers'
``gguf_file=`` support and saved as safetensors under the user cache
(``backends.locations.cache_root``), keyed by the file's path, size and
mtime, so the next run reuses it. The saved copy carries no quantisation marker: transformers
refuses to train a model still marked as GGUF-quantised.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from backends.backend import BackendError
from backends.data.model_files import DONE_MARKER
from backends.data.model_files import FOLDER as FOLDER
from backends.data.model_files import GGUF as GGUF
from backends.data.model_files import HUB as HUB
from backends.data.model_files import ModelUnavailable as ModelUnavailable
from backends.data.model_files import ResolvedModel as ResolvedModel
from backends.data.model_files import gguf_cache_folder as gguf_cache_folder
from backends.data.model_files import hf_cache_dir as hf_cache_dir
from backends.data.model_files import resolve_model as resolve_model

CONFIG_TIMEOUT_S = 8.0


def hf_offline() -> bool:
    """``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``, read now (not at import)."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    return False


def _unavailable(model: str, why: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"Cannot get {model}: {why}. Looked in the Hugging Face cache ({hf_cache_dir()}).",
        hint=(
            "Set the model to a local copy (a folder with config.json and *.safetensors, or a "
            ".gguf file), or download it where there is network (`hf download "
            f"{model}`) and copy the cache over. With network, unset HF_HUB_OFFLINE to let it "
            "download."
        ),
    )


def hub_unreachable(timeout: float, endpoint: str | None = None) -> str | None:
    """Why the Hub's host cannot be reached (one TCP connect), or ``None`` when it can.

    huggingface_hub retries a refused connection five times with backoff
    (over 20 s); this answers in ``timeout`` at most. Behind a proxy the
    check is left to huggingface_hub. ``endpoint`` defaults to ``HF_ENDPOINT``
    as huggingface_hub read it at import.
    """
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(
        os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
    ):
        return None
    url = urlsplit(endpoint or constants.ENDPOINT)
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return f"{host}:{port}: {error.strerror or error}"


def hub_config_path(repo_id: str, *, timeout: float = CONFIG_TIMEOUT_S) -> Path:
    """The cached ``config.json`` of a hub model, fetched (small file, short timeout) when online."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        return Path(cached)
    if hf_offline():
        raise _unavailable(
            repo_id, "it is not in the cache and HF_HUB_OFFLINE=1 forbids downloading"
        )
    unreachable = hub_unreachable(timeout)
    if unreachable:
        raise _unavailable(repo_id, f"the Hugging Face Hub could not be reached ({unreachable})")
    try:
        return Path(hf_hub_download(repo_id, "config.json", etag_timeout=timeout))
    except Exception as error:  # network, auth, missing repo: all end the same way
        kind = type(error).__name__
        if "RepositoryNotFound" in kind or "GatedRepo" in kind:
            why = f"the Hub says no such (or no accessible) model ({kind})"
        else:
            why = f"the Hugging Face Hub could not be reached ({kind}: {str(error)[:160]})"
        raise _unavailable(repo_id, why) from None


def read_model_config(model: ResolvedModel) -> dict[str, Any]:
    """The model's config as a dict, without loading weights."""
    if model.kind == FOLDER:
        return _read_json(Path(model.path) / "config.json")
    if model.kind == HUB:
        return _read_json(hub_config_path(model.path))
    cached = gguf_cache_folder(model)
    if (cached / DONE_MARKER).is_file():
        return _read_json(cached / "config.json")
    try:
        from transformers import AutoConfig
    except ImportError as error:
        raise BackendError(
            "Reading a GGUF file needs the local extra.",
            hint="pip install 'finetune-tui[local]' gguf",
        ) from error
    try:
        config = AutoConfig.from_pretrained(model.path, gguf_file=model.gguf_file)
    except Exception as error:
        raise ModelUnavailable(
            f"Cannot read the GGUF file {model.name}: {error}",
            hint="transformers reads GGUF files of the llama, mistral, qwen2, phi3, gemma… families; "
            "the `gguf` package must be installed.",
        ) from None
    return dict(config.to_dict())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"Cannot read {path}: {error}") from None
    if not isinstance(value, dict):
        raise ModelUnavailable(f"{path} is not a JSON object.")
    return value


# --- GGUF → safetensors, once --------------------------------------------------
def dequantised_folder(model: ResolvedModel, *, log: Any = None) -> Path:
    """The safetensors copy of a GGUF model, made now if it does not exist yet."""
    target = gguf_cache_folder(model)
    assert model.gguf_file is not None  # gguf_cache_folder checked it already
    if (target / DONE_MARKER).is_file():
        if log:
            log(f"Using the dequantised copy of {model.gguf_file} in {target}.")
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils.quantization_config import GgufConfig

    if log:
        log(f"Dequantising {model.gguf_file} once into {target} (safetensors)…")
    work = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    with gguf_read_once():
        loaded = AutoModelForCausalLM.from_pretrained(
            model.path,
            gguf_file=model.gguf_file,
            quantization_config=GgufConfig(dequantize=True),
            dtype=torch.bfloat16,
        )
        tokenizer = AutoTokenizer.from_pretrained(model.path, gguf_file=model.gguf_file)
    strip_quantization(loaded)
    loaded.save_pretrained(work)
    tokenizer.save_pretrained(work)
    (work / DONE_MARKER).write_text(str(Path(model.path) / model.gguf_file) + "\n")
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    os.replace(work, target)
    return target


def load_gguf_model(gguf: Path) -> Any:
    """A GGUF file in transformers' GGUF loader, dequantised to float32 in memory, for
    inference (the export's check, the try-it chat without llama.cpp); parsed once."""
    import torch
    from transformers import AutoModelForCausalLM

    with gguf_read_once():
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
    return model.eval()


@contextlib.contextmanager
def gguf_read_once() -> Iterator[None]:
    """While loading one GGUF model: each file is parsed once, each tensor-name table built once.

    transformers parses the file three times (for the config, the weights and the tokenizer;
    ~4 s each for SmolLM2-135M, most of it the vocabulary's 49k strings read one by one) and
    builds gguf's table of tensor names again for every submodule it walks (~300 times).
    Both come from ``gguf`` at each call, so for the time of this block they come from a
    cache: dequantising SmolLM2-135M takes about half as long. The real ones are put back after.
    """
    import gguf

    real_reader, real_names = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, str], Any] = {}

    def reader(path: str | os.PathLike[str], mode: str = "r") -> Any:
        key = (os.path.realpath(path), mode)
        if key not in readers:
            readers[key] = real_reader(path, mode)
        return readers[key]

    gguf.GGUFReader = reader
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(real_names)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = real_reader, real_names


def strip_quantization(model: Any) -> None:
    """Forget a (dequantised) GGUF quantiser, so the saved copy loads as a plain trainable model."""
    config = model.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    for attribute in ("hf_quantizer", "quantization_method"):
        if getattr(model, attribute, None) is not None:
            setattr(model, attribute, None)
    if getattr(model, "is_quantized", False):
        model.is_quantized = False


def loadable_path(model: ResolvedModel, *, log: Any = None) -> str:
    """What ``from_pretrained`` should load (a GGUF file becomes its dequantised folder)."""
    if model.kind == GGUF:
        return str(dequantised_folder(model, log=log))
    return model.path


def config_summary(config: Mapping[str, Any]) -> str:
    kind = config.get("model_type", "?")
    layers = config.get("num_hidden_layers", "?")
    hidden = config.get("hidden_size", "?")
    return f"{kind}, {layers} layers, hidden size {hidden}"
