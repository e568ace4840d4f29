"""Conversion to chat and the seeded train/validation split: new files only."""

from __future__ import annotations

import orjson
import pytest

from backends.data import InspectOptions, inspect_file, to_chat
from backends.data.convert import TargetExists, convert_to_chat, split_file
from backends.data.formats import DataFormat, detect_format
from tests.support.data_files import good_chats


def lines_of(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_detect_formats():
    assert detect_format({"messages": []}) is DataFormat.CHAT
    assert (
        detect_format({"input": {}, "preferred_output": [], "non_preferred_output": []})
        is DataFormat.DPO
    )
    assert detect_format({"prompt": "", "completion": ""}) is DataFormat.PROMPT_COMPLETION
    assert detect_format({"instruction": "", "input": "", "output": ""}) is DataFormat.ALPACA
    assert detect_format({"conversations": []}) is DataFormat.SHAREGPT
    assert detect_format({"text": ""}) is DataFormat.UNKNOWN


def test_record_conversions():
    assert to_chat({"prompt": "2+2= ", "completion": " 4\n"}) == {
        "messages": [{"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}]
    }
    assert to_chat(
        {"instruction": "Translate", "input": "bonjour", "output": "hello"}, system="S"
    ) == {
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Translate\n\nbonjour"},
            {"role": "assistant", "content": "hello"},
        ]
    }
    sharegpt = {
        "system": "Be kind.",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hey"}],
    }
    assert to_chat(sharegpt)["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hey"},
    ]


@pytest.mark.parametrize(
    "rows",
    [
        [{"prompt": f"Q{i}?", "completion": f" A{i}."} for i in range(60)],
        [
            {"instruction": f"Do {i}", "input": "" if i % 2 else "ctx", "output": f"Done {i}"}
            for i in range(60)
        ],
        [
            {
                "conversations": [
                    {"from": "human", "value": f"hi {i}"},
                    {"from": "gpt", "value": "hello"},
                ]
            }
            for i in range(60)
        ],
    ],
    ids=["prompt_completion", "alpaca", "sharegpt"],
)
def test_convert_file_then_it_inspects_clean(write, tmp_path, rows):
    source = write(rows)
    before = inspect_file(source, InspectOptions(workers=1))
    assert "unsupported_format" in {g.code for g in before.findings}
    result = convert_to_chat(source, tmp_path / "chat.jsonl", system="You help.")
    assert result.written == 60 and result.skipped_count == 0
    report = inspect_file(tmp_path / "chat.jsonl", InspectOptions(workers=1))
    assert report.format == "chat" and report.ok and report.warnings == 0, report.findings


def test_convert_skips_and_lists_bad_lines(write, tmp_path):
    source = write(
        [
            {"prompt": "a", "completion": "b"},
            "{oops",
            {"prompt": 3, "completion": "x"},
            "",
            {"conversations": [{"from": "alien", "value": "?"}]},
            *good_chats(1),
        ]
    )
    result = convert_to_chat(source, tmp_path / "out.jsonl")
    assert result.written == 2
    assert [line for line, _ in result.skipped] == [2, 3, 5]
    assert "alien" in result.skipped[2][1]


def test_convert_never_overwrites(write, tmp_path):
    source = write([{"prompt": "a", "completion": "b"}])
    target = tmp_path / "exists.jsonl"
    target.write_text("keep me")
    with pytest.raises(TargetExists):
        convert_to_chat(source, target)
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data.jsonl",
        "exists.jsonl",
    ]  # no temp left


def test_convert_failure_leaves_nothing(write, tmp_path, monkeypatch):
    import backends.data.convert as convert_module

    source = write([{"prompt": "a", "completion": "b"}] * 3)

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(convert_module, "to_chat", boom)
    with pytest.raises(RuntimeError):
        convert_to_chat(source, tmp_path / "out.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]


def test_convert_with_bom_for_azure(write, tmp_path):
    convert_to_chat(write([{"prompt": "a", "completion": "b"}]), tmp_path / "o.jsonl", bom=True)
    assert (tmp_path / "o.jsonl").read_bytes().startswith(b"\xef\xbb\xbf")


def test_split_is_seeded_and_complete(write, tmp_path):
    source = write([*good_chats(100), ""])
    first = split_file(
        source, 0.2, seed=7, train=tmp_path / "a_train.jsonl", validation=tmp_path / "a_valid.jsonl"
    )
    again = split_file(
        source, 0.2, seed=7, train=tmp_path / "b_train.jsonl", validation=tmp_path / "b_valid.jsonl"
    )
    other = split_file(
        source, 0.2, seed=8, train=tmp_path / "c_train.jsonl", validation=tmp_path / "c_valid.jsonl"
    )
    assert (first.train_examples, first.validation_examples) == (80, 20)
    assert first.train.read_bytes() == again.train.read_bytes()
    assert first.validation.read_bytes() == again.validation.read_bytes()
    assert first.validation.read_bytes() != other.validation.read_bytes()
    together = lines_of(first.train) + lines_of(first.validation)
    assert sorted(map(orjson.dumps, together)) == sorted(map(orjson.dumps, good_chats(100)))


def test_split_default_names_and_no_overwrite(write):
    source = write(good_chats(10))
    result = split_file(source, 0.3, seed=0)
    assert result.train.name == "data.train.jsonl" and result.validation.name == "data.valid.jsonl"
    with pytest.raises(TargetExists):
        split_file(source, 0.3, seed=0)


def test_split_rejects_bad_fraction_and_tiny_files(write):
    with pytest.raises(ValueError):
        split_file(write(good_chats(10)), 1.5)
    with pytest.raises(ValueError):
        split_file(write(good_chats(1), "one.jsonl"), 0.5)
