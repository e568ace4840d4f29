"""The sample dataset shipped with finetune-tui: "Try with the sample".

Chainline Cycles is a fictional bike repair shop, and Spoke its assistant.
The chats were written for this project: prices, opening hours, advice, and
tool calls that look up repair tickets, book services and check part stock
(``tools`` definitions included), plus two chats that use ``weight: 0`` on a
reply not to reinforce. 60 training chats and 12 validation chats.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TRAIN_FILE = "chainline_train.jsonl"
VALIDATION_FILE = "chainline_valid.jsonl"
DESCRIPTION = "Chainline Cycles (fictional bike repair shop): 60 training + 12 validation chats, some with tool calls"


@dataclass(frozen=True)
class SampleDataset:
    train: Path
    validation: Path
    description: str = DESCRIPTION


_extracted = contextlib.ExitStack()


def sample_dataset() -> SampleDataset:
    """Paths of the sample's training and validation files (real files, even from a zipped install)."""
    folder = resources.files(__name__)
    paths = [
        Path(_extracted.enter_context(resources.as_file(folder / name)))
        for name in (TRAIN_FILE, VALIDATION_FILE)
    ]
    return SampleDataset(paths[0], paths[1])
