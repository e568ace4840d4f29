"""Loading a local model's tokenizer without torch, in a process that only counts tokens.

transformers 5 imports torch on its way to any tokenizer (its configuration module
does), though a tokenizer needs none of it: about 3 of the 4 CPU seconds a load costs.
A process that loads no model, the dataset scan's child, hides torch before
transformers is imported (``hide_torch``): transformers then finds no torch and a
model folder's tokenizer loads in about a second, with the same tokens.

A GGUF file is read through torch: ``needs_torch`` says so before the child starts,
and a load that fails while torch is hidden raises ``NeedsTorch`` (not
``LocalTokenizerUnavailable``, which would turn into an estimate), so that the caller
starts over with torch rather than report worse figures.
"""

from __future__ import annotations

import sys

from backends.data.model_files import DONE_MARKER, GGUF, ModelUnavailable, gguf_cache_folder
from backends.data.model_files import resolve_model as _resolve


class NeedsTorch(RuntimeError):
    """A tokenizer failed to load while torch was hidden; with torch it may load."""


def hide_torch() -> bool:
    """Make torch look uninstalled to this process (``True``), unless it is imported already.

    An entry of ``None`` in ``sys.modules`` is Python's own way to say a module is not
    there: ``import torch`` raises ImportError and ``importlib.util.find_spec`` finds
    nothing, which is what transformers asks.
    """
    if "torch" in sys.modules:
        return sys.modules["torch"] is None
    sys.modules["torch"] = None  # type: ignore[assignment]
    return True


def torch_hidden() -> bool:
    return "torch" in sys.modules and sys.modules["torch"] is None


def refuse_without_torch(what: str) -> None:
    """Raise ``NeedsTorch(what)`` if torch is hidden: a failure then may be its absence."""
    if torch_hidden():
        raise NeedsTorch(what) from None


def needs_torch(model: str) -> bool:
    """Whether loading ``model``'s tokenizer needs torch: a GGUF file not yet dequantised
    into finetune-tui's cache (transformers reads those through torch)."""
    try:
        resolved = _resolve(model)
    except ModelUnavailable:
        return False  # the scan says why; no load is tried
    return resolved.kind == GGUF and not (gguf_cache_folder(resolved) / DONE_MARKER).is_file()
