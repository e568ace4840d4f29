"""Every setting finetune-tui reads from its environment, and every folder it keeps files in.

The program's own environment variables (all ``FINETUNE_TUI_*``) and the
user folders ``platformdirs`` gives it are read here and nowhere else; the
rest of the code asks this module. Each is read when asked (not at import),
so a test can set a variable for itself.

- ``FINETUNE_TUI_POLL_INTERVAL``: seconds between polls of a hosted job,
  overriding every interval (tests set it small).
- ``FINETUNE_TUI_OFFLINE``: no tokenizer download (any value but ``""``/``"0"``).
- ``FINETUNE_TUI_HEARTBEAT_S``: seconds between a local worker's heartbeats.
- ``FINETUNE_TUI_CACHE``: the cache folder (dequantised GGUF copies), instead
  of the platform's user cache folder.
- ``FINETUNE_TUI_LLAMA_CPP``: a llama.cpp checkout whose ``convert_hf_to_gguf.py``
  (and ``build/bin/llama-quantize``, if built) GGUF exports use.
- ``FINETUNE_TUI_TODAY``: the day (``YYYY-MM-DD``) the program takes for today, for the
  dated rules (OpenAI's last day for new jobs); tests set it to a day after that.
- The user config folder (``config_dir``) holds ``keymap.toml`` (``tui.keymap``).

Variables that belong to other tools (``HF_HUB_OFFLINE``, ``HF_ENDPOINT``,
``CUDA_VISIBLE_DEVICES``, provider keys...) are read where they are used.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

APP_NAME = "finetune-tui"
POLL_ENV = "FINETUNE_TUI_POLL_INTERVAL"
OFFLINE_ENV = "FINETUNE_TUI_OFFLINE"
HEARTBEAT_ENV = "FINETUNE_TUI_HEARTBEAT_S"
CACHE_ENV = "FINETUNE_TUI_CACHE"
LLAMA_CPP_ENV = "FINETUNE_TUI_LLAMA_CPP"
TODAY_ENV = "FINETUNE_TUI_TODAY"


def poll_interval() -> float | None:
    """``FINETUNE_TUI_POLL_INTERVAL`` in seconds; ``None`` when unset or empty."""
    raw = os.environ.get(POLL_ENV)
    return float(raw) if raw else None


def offline() -> bool:
    """``FINETUNE_TUI_OFFLINE`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def heartbeat_s(default: float) -> float:
    """``FINETUNE_TUI_HEARTBEAT_S`` in seconds; ``default`` when unset or empty."""
    raw = os.environ.get(HEARTBEAT_ENV)
    return float(raw) if raw else default


def cache_root() -> Path:
    """``FINETUNE_TUI_CACHE`` or the platform's user cache folder for finetune-tui."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))


def llama_cpp_dir() -> Path | None:
    """``FINETUNE_TUI_LLAMA_CPP``: a llama.cpp checkout to convert with; ``None`` when unset."""
    raw = os.environ.get(LLAMA_CPP_ENV)
    return Path(raw).expanduser() if raw else None


def today() -> date:
    """``FINETUNE_TUI_TODAY`` as a date, else the calendar's today.

    Raises ``ValueError`` naming the variable when it is not a ``YYYY-MM-DD`` date.
    """
    raw = os.environ.get(TODAY_ENV, "").strip()
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{TODAY_ENV}={raw!r} is not a date (YYYY-MM-DD).") from None


def config_dir() -> Path:
    """The platform's user config folder for finetune-tui (``~/.config/finetune-tui``)."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME)
