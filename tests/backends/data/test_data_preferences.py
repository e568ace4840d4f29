"""Preference pairs in the Dataset step: both layouts read, each side counted with the model's
chat template, pairs over the max length, identical answers and empty sides flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")

from backends.catalog import Provider
from backends.data.formats import DataFormat, detect_format
from backends.data.inspector import InspectOptions, inspect_file
from backends.data.preferences import encode_pair, to_pair
from tests.support.data_files import write_jsonl
from tests.support.tiny_model import toy_preference


def _local(model: Path, **kw: object) -> InspectOptions:
    return InspectOptions(model=str(model), provider=Provider.LOCAL, workers=1, **kw)  # type: ignore[arg-type]


def _codes(report: object) -> dict[str, int]:
    return {g.code: g.count for g in report.findings}  # type: ignore[attr-defined]


def test_the_hugging_face_layout_is_a_preference_format() -> None:
    assert detect_format(toy_preference(0, "hf")) is DataFormat.DPO
    assert detect_format(toy_preference(0, "plain")) is DataFormat.DPO


@pytest.mark.parametrize("layout", ["openai", "hf"])
def test_each_pair_is_counted_as_dpo_tokenises_it(
    tmp_path: Path, tiny_model: Path, layout: str
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    examples = [toy_preference(i, layout) for i in range(12)]
    report = inspect_file(write_jsonl(tmp_path / "pairs.jsonl", examples), _local(tiny_model))
    expected = [encode_pair(tokenizer, to_pair(e)) for e in examples]
    assert list(report.token_counts) == [e.total for e in expected]
    assert report.encoding.engine == "transformers"
    assert "empty_preference_side" not in _codes(report)


def test_pairs_over_the_max_length_identical_and_empty_are_flagged(
    tmp_path: Path, tiny_model: Path
) -> None:
    examples = [toy_preference(i, "hf") for i in range(12)]
    examples[2]["rejected"] = examples[2]["chosen"]
    examples[5]["chosen"] = [{"role": "assistant", "content": ""}]
    examples[7]["prompt"] = [{"role": "user", "content": " ".join(["what colour"] * 40)}]
    report = inspect_file(
        write_jsonl(tmp_path / "pairs.jsonl", examples), _local(tiny_model, max_length=40)
    )
    codes = _codes(report)
    assert codes["identical_preference_pair"] == 1
    assert codes["empty_preference_side"] == 1
    assert codes["over_context_limit"] == 1
    over = next(g for g in report.findings if g.code == "over_context_limit")
    assert over.samples[0].line == 8 and "prompt + the longer answer" in over.samples[0].message


def test_hosted_inspection_says_the_layout_needs_converting(tmp_path: Path) -> None:
    examples = [toy_preference(i, "hf") for i in range(12)]
    report = inspect_file(
        write_jsonl(tmp_path / "pairs.jsonl", examples),
        InspectOptions(model="gpt-4o-mini-2024-07-18", provider=Provider.OPENAI),
    )
    unknown = next(g for g in report.findings if g.code == "unknown_format")
    assert "input/preferred_output/non_preferred_output" in unknown.samples[0].message
