"""Run ids: ``YYYYMMDD-HHMM-<model>-<tag>`` (UTC), sorting by creation time."""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime, timezone

from backends.catalog import base_of_fine_tuned, find_any_hosted

_SLUG_RE = re.compile(r"[^a-z0-9]+")
_DATE_SUFFIX_RE = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def model_slug(model: str, *, max_len: int = 28) -> str:
    """``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``; ``org/SmolLM2-135M`` → ``smollm2-135m``."""
    name = base_of_fine_tuned(model) or model
    entry = find_any_hosted(name)
    if entry is not None and entry.aliases:
        name = entry.aliases[0]
    name = name.rstrip("/").rsplit("/", 1)[-1]
    if name.lower().endswith(".gguf"):
        name = name[:-5]
    name = _DATE_SUFFIX_RE.sub("", name.lower())
    slug = _SLUG_RE.sub("-", name).strip("-")
    return slug[:max_len].rstrip("-") or "model"


def make_run_id(model: str, *, now: float, tag: str | None = None) -> str:
    """``YYYYMMDD-HHMM-<model>-<tag>`` in UTC; ids sort by creation time."""
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y%m%d-%H%M")
    return f"{stamp}-{model_slug(model)}-{tag or secrets.token_hex(2)}"


def run_id_problem(name: str) -> str | None:
    """Why ``name`` cannot be a run id (a plain folder name inside ``runs/``), or ``None``."""
    if not name or not name.strip():
        return "a run id cannot be empty"
    if name in (".", ".."):
        return f"{name!r} is not a run id"
    if "/" in name or "\\" in name or os.sep in name or (os.altsep and os.altsep in name):
        return f"{name!r} is not a run id: it has a path separator"
    if name.startswith("."):
        return f"{name!r} is not a run id: it starts with a dot"
    if not name.isprintable():
        return f"{name!r} is not a run id: it has control characters"
    return None
