"""Fixtures for evaluation: a clean environment, the emulator, chat files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.fakes.emulator_env import clear_secret_env
from tests.fakes.finetune_api import FineTuneAPI


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_secret_env(monkeypatch)


def qa(i: int, system: str = "Answer with the number only.") -> dict[str, object]:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"What is {i} plus {i}?"},
            {"role": "assistant", "content": str(2 * i)},
        ]
    }


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def tuned_or_echo(model: str, messages: list[dict[str, object]]) -> str:
    """The tuned model answers right (2 × the number); the base model echoes the question."""
    last = str([m for m in messages if m["role"] == "user"][-1]["content"])
    if model.startswith("ft:"):
        return str(2 * int(last.split()[2]))
    return f"echo: {last}"


@pytest.fixture
def emulator() -> Iterator[FineTuneAPI]:
    with FineTuneAPI(chat_responder=tuned_or_echo) as api:
        yield api


@pytest.fixture
def eval_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "eval.jsonl", [qa(i) for i in range(100, 106)])


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", [qa(i) for i in range(20)])
