"""Local models: tokens counted with the model's own tokenizer and chat template (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from backends.catalog import Provider
from backends.data.inspector import InspectOptions, inspect_file, inspect_records
from tests.support.data_files import write_jsonl
from tests.support.tiny_model import COLOURS, THINGS, toy_example
from tui.cli import main


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model), local_files_only=True)


def _examples(n: int) -> list[dict]:
    """Chat examples of different lengths (no duplicates), one multi-turn."""
    out = []
    for i in range(n):
        example = toy_example(i)
        words = " ".join(COLOURS[: i % len(COLOURS) + 1])
        example["messages"][1]["content"] += f" say {words} ."
        example["messages"][2]["content"] += f" {THINGS[i % len(THINGS)]} {i % 7} ."
        out.append(example)
    out[3]["messages"] += [
        {"role": "user", "content": "what colour is the sea ?"},
        {"role": "assistant", "content": "the sea is blue ."},
    ]
    return out


def _template_counts(tokenizer, example: dict) -> tuple[int, int]:
    encoded = tokenizer.apply_chat_template(
        example["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    return len(encoded["input_ids"]), sum(encoded["assistant_masks"])


def _local(model: Path | str, max_length: int | None = None, **kw) -> InspectOptions:
    return InspectOptions(
        model=str(model), provider=Provider.LOCAL, max_length=max_length, workers=1, **kw
    )


def test_counts_equal_the_chat_template_per_example(tmp_path, tiny_model, tokenizer):
    examples = _examples(12)
    path = write_jsonl(tmp_path / "train.jsonl", examples)
    report = inspect_file(path, _local(tiny_model))
    expected = [_template_counts(tokenizer, e) for e in examples]
    assert list(report.token_counts) == [t for t, _ in expected]
    assert list(report.assistant_counts) == [a for _, a in expected]
    assert report.tokens.total == sum(t for t, _ in expected)
    assert report.exact and report.approximations == []
    assert report.encoding.engine == "transformers"
    assert str(tiny_model) in report.encoding.used
    assert report.billing_tokens == report.tokens.total  # no max length: nothing capped


def test_over_limit_counts_against_max_length(tmp_path, tiny_model, tokenizer):
    examples = _examples(12)
    path = write_jsonl(tmp_path / "train.jsonl", examples)
    totals = [_template_counts(tokenizer, e)[0] for e in examples]
    limit = sorted(totals)[len(totals) // 2]
    report = inspect_file(path, _local(tiny_model, max_length=limit))
    over = [t for t in totals if t > limit]
    assert over and report.over_limit == len(over)
    assert report.context_limit == limit
    assert report.billing_tokens == sum(min(t, limit) for t in totals)
    flagged = [g for g in report.findings if g.code == "over_context_limit"]
    assert flagged and flagged[0].count == len(over)
    first = next(i for i, t in enumerate(totals) if t > limit)
    assert flagged[0].samples[0].line == first + 1
    assert f"{totals[first]:,} tokens" in flagged[0].samples[0].message


def test_batches_and_records_agree(tmp_path, tiny_model, tokenizer, monkeypatch):
    """Small batches (several flushes) and the in-memory path give the same figures."""
    import backends.data.local_tokens as local_tokens

    monkeypatch.setattr(local_tokens, "BATCH", 5)
    flushes = []
    original = local_tokens.TemplateCounter.flush

    def spy(self, result):
        flushes.append(len(self.pending))
        original(self, result)

    monkeypatch.setattr(local_tokens.TemplateCounter, "flush", spy)
    examples = _examples(13)
    path = write_jsonl(tmp_path / "train.jsonl", examples)
    from_file = inspect_file(path, _local(tiny_model))
    from_records = inspect_records(examples, "mem", _local(tiny_model))
    expected = [_template_counts(tokenizer, e)[0] for e in examples]
    assert list(from_file.token_counts) == expected
    assert list(from_records.token_counts) == expected
    assert flushes.count(5) >= 4  # batches of 5, in both paths


def test_prompt_completion_goes_through_the_template(tmp_path, tiny_model, tokenizer):
    rows = [{"prompt": f"what colour is the {t} ?", "completion": "it is red ."} for t in THINGS]
    path = write_jsonl(tmp_path / "pc.jsonl", rows)
    report = inspect_file(path, _local(tiny_model))
    chat = [
        {
            "messages": [
                {"role": "user", "content": r["prompt"]},
                {"role": "assistant", "content": r["completion"]},
            ]
        }
        for r in rows
    ]
    assert list(report.token_counts) == [_template_counts(tokenizer, c)[0] for c in chat]


def test_missing_folder_falls_back_with_a_note(tmp_path):
    missing = tmp_path / "no-such-model"
    path = write_jsonl(tmp_path / "train.jsonl", _examples(12))
    report = inspect_file(path, _local(missing, max_length=64))
    assert not report.exact
    assert report.encoding.engine != "transformers"
    note = " ".join(report.approximations)
    assert str(missing) in note and "could not be loaded" in note
    assert report.tokens.total > 0 and report.context_limit == 64


def test_uncached_hub_id_falls_back_without_download(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", _examples(12))
    report = inspect_file(path, _local("nobody-here/not-a-cached-model"))
    note = " ".join(report.approximations)
    assert not report.exact
    assert "nobody-here/not-a-cached-model" in note and "Hugging Face cache" in note


def test_cli_local_model_json(tmp_path, tiny_model, tokenizer, capsys, child_requests):
    """Counted in the Dataset step's child (without torch), the validation file too."""
    examples = _examples(60)
    path = write_jsonl(tmp_path / "train.jsonl", examples)
    held_out = write_jsonl(tmp_path / "valid.jsonl", examples[:5])
    totals = [_template_counts(tokenizer, e)[0] for e in examples]
    argv = ["inspect", str(path), "--provider", "local", "--model", str(tiny_model)]
    code = main([*argv, "--max-length", "30", "--validation", str(held_out), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["torch"] for r in child_requests] == [False]
    assert data["validation"]["total_tokens"] == sum(totals[:5])
    assert data["exact"] is True and data["approximations"] == []
    assert str(tiny_model) in data["encoding"]
    assert data["tokenizer"]["engine"] == "transformers"
    assert data["total_tokens"] == sum(totals)
    assert data["over_limit"] == sum(1 for t in totals if t > 30)
    assert data["billing_tokens"] == sum(min(t, 30) for t in totals)
    assert data["context_limit"] == 30


def test_cli_local_missing_model_still_reports(tmp_path, capsys):
    path = write_jsonl(tmp_path / "train.jsonl", _examples(60))
    missing = tmp_path / "gone"
    code = main(["inspect", str(path), "--provider", "local", "--model", str(missing), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["exact"] is False
    assert any(str(missing) in note for note in data["approximations"])


def test_tool_calls_the_template_cannot_render_are_the_examples_training_skips(tiny_model):
    """One check (``chat_template.renders_tools``): the report warns of exactly the lines the
    worker skips, with no error, so the shipped sample is ready on a template without tools."""
    from backends.data.chat_template import uses_tools
    from backends.data.findings import Severity
    from backends.data.samples import sample_dataset
    from backends.local.dataset import load_conversations

    sample = sample_dataset()
    report = inspect_file(sample.train, _local(tiny_model))
    [group] = [g for g in report.findings if g.code == "tools_unrendered"]
    loaded = load_conversations(sample.train)
    skipped = [n for r, n in zip(loaded.records, loaded.lines, strict=True) if uses_tools(r)]
    assert group.severity is Severity.WARNING and group.count == len(skipped) > 0
    assert [f.line for f in group.samples] == skipped[: len(group.samples)]
    assert "cannot render tool calls" in group.samples[0].message
    assert report.errors == 0 and report.ok


def test_a_file_of_tool_examples_only_has_nothing_to_train(tmp_path, tiny_model):
    from backends.data.samples import sample_dataset

    sample = sample_dataset()
    lines = [line for line in sample.train.read_bytes().splitlines() if b"tool_calls" in line]
    path = tmp_path / "tools.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = inspect_file(path, _local(tiny_model))
    codes = {g.code for g in report.findings}
    assert "nothing_to_train" in codes and not report.ok


def test_the_scan_child_counts_a_model_folder_without_torch_and_the_same(
    tmp_path, tiny_model, child_requests
):
    """transformers imports torch for a tokenizer it does not need; the scan's child hides it
    (about 3 of 4 CPU seconds) and its report is the one counted here, with torch."""
    import subprocess
    import sys

    from backends.data import scan_process

    data = write_jsonl(tmp_path / "train.jsonl", _examples(12))
    options = _local(tiny_model)
    child = scan_process.inspect_in_subprocess(str(data), None, options)
    here = inspect_file(data, options)
    assert [r["torch"] for r in child_requests] == [False]
    assert child.encoding.engine == "transformers" and child.tokens.total == here.tokens.total
    assert list(child.token_counts) == list(here.token_counts)
    probe = (
        "import sys\n"
        "from backends.data.torch_free import hide_torch\n"
        "from backends.data.local_tokens import load_local_tokenizer\n"
        "assert hide_torch()\n"
        f"load_local_tokenizer({str(tiny_model)!r})\n"
        "print(sys.modules.get('torch') is None)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=Path(__file__).parents[3]
    )
    assert shown.stdout.strip() == "True", shown.stderr


def test_only_a_gguf_file_not_yet_dequantised_is_read_with_torch(tmp_path, tiny_model):
    from backends.data.torch_free import needs_torch

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")  # resolved by name; transformers reads it through torch
    assert needs_torch(str(gguf))
    assert not needs_torch(str(tiny_model))
    assert not needs_torch(str(tmp_path / "no-such-model"))  # the scan says why, nothing loads


def test_a_tokenizer_that_fails_without_torch_is_tried_again_with_it(
    tmp_path, tiny_model, child_requests
):
    """A load that fails while torch is hidden is not turned into an estimate in the child:
    the scan starts over with torch, and only then says what is wrong."""
    import shutil

    from backends.data import scan_process

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "tokenizer.json").write_text("{not json")
    data = write_jsonl(tmp_path / "train.jsonl", _examples(4))
    report = scan_process.inspect_in_subprocess(str(data), None, _local(broken))
    assert [r["torch"] for r in child_requests] == [False, True]
    assert report.encoding.engine != "transformers"
    note = " ".join(report.approximations)
    assert str(broken) in note and "could not be loaded" in note
