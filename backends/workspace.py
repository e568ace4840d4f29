"""The workspace: the folder where finetune-tui keeps what it knows.

Default ``./.finetune`` under the current directory; ``--workspace DIR``
changes it for the app and every subcommand.

    <workspace>/
      decision.json    the checklist answers + recommendation (machine-readable)
      decision.md      the same, for people
      choices.json     the Dataset and Backend steps' choices (never a key)
      runs/<run-id>/   one folder per training run (see DESIGN.md)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKSPACE = Path(".finetune")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, folder: str | os.PathLike[str] | None = None) -> Workspace:
        return cls(Path(folder) if folder is not None else DEFAULT_WORKSPACE)

    @property
    def decision_json(self) -> Path:
        return self.root / "decision.json"

    @property
    def decision_md(self) -> Path:
        return self.root / "decision.md"

    @property
    def choices_json(self) -> Path:
        return self.root / "choices.json"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def display(self, path: Path | None = None) -> str:
        """``path`` (default: the root) as a person would type it from the current folder."""
        target = Path(path) if path is not None else self.root
        try:
            return str(target.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(target)
