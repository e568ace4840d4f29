"""Hugging Face sources, offline: save_to_disk folders, parquet/csv files, Hub ids."""

from __future__ import annotations

import json

import pytest

from backends.data import InspectOptions
from backends.data.hf import (
    DatasetUnavailable,
    drop_nones,
    guess_column_mapping,
    inspect_hf,
    is_hf_source,
)
from tests.support.data_files import good_chats
from tui.cli import main

datasets = pytest.importorskip("datasets")


def test_save_to_disk_folder(tmp_path):
    rows = good_chats(60)
    rows[3]["messages"][1]["name"] = "sam"  # Arrow gives every other message "name": None
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(rows),
            "test": datasets.Dataset.from_list(good_chats(5, 100)),
        }
    ).save_to_disk(str(folder))
    assert is_hf_source(str(folder))
    report = inspect_hf(str(folder), InspectOptions())
    assert report.ok and report.warnings == 0, report.findings
    assert report.valid_examples == 60 and "[train]" in report.source
    with pytest.raises(DatasetUnavailable, match="no split 'dev'"):
        inspect_hf(str(folder), split="dev")


def test_parquet_file(tmp_path):
    path = tmp_path / "chats.parquet"
    datasets.Dataset.from_list(good_chats(20)).to_parquet(str(path))
    report = inspect_hf(str(path))
    assert report.valid_examples == 20 and report.format == "chat"


def test_csv_with_guessed_and_explicit_columns(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("question,answer\n" + "".join(f"What is {i}?,It is {i}.\n" for i in range(60)))
    assert guess_column_mapping(["question", "answer"]) == {
        "prompt": "question",
        "completion": "answer",
    }
    guessed = inspect_hf(str(path), InspectOptions(model="davinci-002"))
    assert guessed.format == "prompt_completion" and guessed.ok
    assert any("question → prompt" in note for note in guessed.notes)
    explicit = inspect_hf(
        str(path),
        InspectOptions(model="davinci-002"),
        column_mapping={"prompt": "answer", "completion": "question"},
    )
    assert explicit.format == "prompt_completion"


def test_hub_id_offline_gives_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetUnavailable, match="offline"):
        inspect_hf("nobody-here/no-such-dataset-xyz")


def test_cli_on_a_hub_id_offline_exits_2(capsys):
    assert main(["inspect", "nobody-here/no-such-dataset-xyz"]) == 2
    assert "offline" in capsys.readouterr().err


def test_cli_on_a_parquet_file(tmp_path, capsys):
    path = tmp_path / "chats.parquet"
    datasets.Dataset.from_list(good_chats(60)).to_parquet(str(path))
    assert main(["inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 60


def test_drop_nones():
    assert drop_nones({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}


def test_plain_files_are_not_hf_sources(tmp_path):
    assert not is_hf_source(str(tmp_path / "x.jsonl"))
    assert not is_hf_source("data.jsonl")
    assert is_hf_source("org/dataset")
