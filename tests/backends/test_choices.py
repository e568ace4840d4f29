"""choices.json: written atomically, never a secret, a damaged file kept aside and explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.choices import field, load_choices, save_choices
from backends.workspace import Workspace


def test_round_trip(tmp_path: Path) -> None:
    workspace = Workspace.at(tmp_path / "ws")
    save_choices(workspace, {"dataset": {"validation": "valid.jsonl"}})
    loaded = load_choices(workspace, lambda sections: sections["dataset"]["validation"])
    assert loaded.value == "valid.jsonl" and loaded.problem is None
    assert workspace.choices_json.stat().st_mode & 0o077 == 0


def test_nothing_saved_is_a_fresh_start(tmp_path: Path) -> None:
    assert load_choices(Workspace.at(tmp_path), dict).value is None


def test_a_secret_is_never_written(tmp_path: Path) -> None:
    workspace = Workspace.at(tmp_path)
    with pytest.raises(ValueError, match=r"backend\.api_key"):
        save_choices(workspace, {"backend": {"api_key": "sk-x"}})
    assert not workspace.choices_json.exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{broken", "not valid JSON"),
        ("[]", "a JSON object"),
        ('{"dataset": {}}', "no schema_version"),
        ('{"schema_version": 9}', "schema_version 9"),
        ('{"schema_version": 1, "dataset": 3}', "dataset: expected an object"),
        ('{"schema_version": 1, "dataset": {"max_length": "long"}}', "dataset.max_length"),
    ],
)
def test_a_damaged_file_is_kept_aside(tmp_path: Path, text: str, why: str) -> None:
    workspace = Workspace.at(tmp_path)
    workspace.choices_json.write_text(text)

    def parse(sections):
        return field(sections.get("dataset", {}), "max_length", int, "dataset")

    loaded = load_choices(workspace, parse)
    assert loaded.value is None and loaded.backup is not None
    assert why in (loaded.problem or "") and "choices.json.bad" in (loaded.problem or "")
    assert loaded.backup.read_text() == text
