"""Completion of file paths in an Input (→ accepts), like a shell's Tab."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the typed folder that starts with the typed name.

    Folders complete with a trailing ``/``; hidden entries only when the name
    typed so far starts with a dot.
    """

    def __init__(self, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffixes = suffixes

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        head, slash, name = value.rpartition("/")
        folder = Path(os.path.expanduser(head or "/")) if slash else Path(".")
        prefix = f"{head}/" if slash else ""
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            return None
        for entry in entries:
            if not entry.name.startswith(name) or entry.name == name:
                continue
            if entry.name.startswith(".") and not name.startswith("."):
                continue
            is_dir = entry.is_dir()
            if not is_dir and self.suffixes and not entry.name.lower().endswith(self.suffixes):
                continue
            return f"{prefix}{entry.name}{'/' if is_dir else ''}"
        return None
