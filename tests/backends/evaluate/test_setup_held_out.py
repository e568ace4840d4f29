"""``held_out_problem``: a split of, or a held-out file equal to, the run's training file is said."""

from __future__ import annotations

from pathlib import Path

from backends.evaluate.setup import RunData, held_out_problem


def test_the_runs_own_training_file_holds_nothing_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.jsonl").write_text("{}\n")
    trained = RunData("r1", str(tmp_path / "train.jsonl"), None)
    split = held_out_problem("train.jsonl", split=True, trained=trained)
    assert split and "a split of train.jsonl" in split and "held-out file" in split
    same = held_out_problem("./train.jsonl", split=False, trained=trained)
    assert same and "run r1" in same
    with_valid = RunData("r1", str(tmp_path / "train.jsonl"), "valid.jsonl")
    assert "its validation file valid.jsonl" in (
        held_out_problem("train.jsonl", split=True, trained=with_valid) or ""
    )
    assert held_out_problem("valid.jsonl", split=False, trained=trained) is None
    assert held_out_problem("train.jsonl", split=True, trained=None) is None
