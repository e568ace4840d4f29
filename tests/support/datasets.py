"""Datasets the Dataset-step tests read: copies of the shipped sample, and a broken file."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson

from backends.data.samples import sample_dataset


def copy_sample(folder: Path) -> tuple[Path, Path]:
    sample = sample_dataset()
    train = folder / "train.jsonl"
    valid = folder / "valid.jsonl"
    shutil.copy(sample.train, train)
    shutil.copy(sample.validation, valid)
    return train, valid


def chat(question: str, answer: str) -> bytes:
    return orjson.dumps(
        {
            "messages": [
                {"role": "system", "content": "You answer questions about bikes."},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        }
    )


def write_broken(path: Path) -> Path:
    """Twelve good chats, then an unfinished line, an example without an answer and a blank line."""
    lines = [chat(f"Question {n}?", f"Answer number {n}.") for n in range(12)]
    lines.insert(3, b'{"messages": [{"role": "user", "content": "cut off')
    lines.insert(7, orjson.dumps({"messages": [{"role": "user", "content": "No answer here?"}]}))
    lines.insert(9, b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def write_big(path: Path, megabytes: int) -> Path:
    line = chat("How do I true a wheel? " * 20, "Spoke tension, a little at a time. " * 40) + b"\n"
    with open(path, "wb") as handle:
        for _ in range(megabytes * 2**20 // len(line)):
            handle.write(line)
    return path
