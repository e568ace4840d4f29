"""Token counts: hand-checked cl100k_base values, both engines, honest fallbacks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from backends.data import InspectOptions, inspect_file
from backends.data.chat_checks import count_chat
from backends.data.tokenizer import (
    ENGINE_BPE,
    ENGINE_TIKTOKEN,
    EncodingUnavailable,
    TokenCounter,
    load_encoding,
    seed_tiktoken_cache,
    tiktoken_cache_dir,
)
from tests.support.data_files import chat, good_chats

HAS_BPE = importlib.util.find_spec("bpe_openai") is not None
ENGINES = [ENGINE_TIKTOKEN] + ([ENGINE_BPE] if HAS_BPE else [])

# Hand-checked with tiktoken's cl100k_base: the pieces are listed.
CL100K = {
    "hello world": 2,  # "hello" " world"
    "Hello, world!": 4,  # "Hello" "," " world" "!"
    "assistant": 1,
    "The quick brown fox jumps over the lazy dog.": 10,  # one per word + "."
    "<|endoftext|>": 7,  # "<" "|" "endo" "ft" "ext" "|" ">": text, not the special token
    "🚲": 3,  # three byte-level tokens
}


@pytest.mark.parametrize("engine", ENGINES)
def test_cl100k_counts_by_hand(engine, fresh_encodings):
    count, choice = load_encoding("cl100k_base", engine, allow_download=False)
    assert choice.exact and choice.used == "cl100k_base" and choice.engine == engine
    assert {text: count(text) for text in CL100K} == CL100K


@pytest.mark.parametrize("engine", ENGINES)
def test_chat_overhead_by_hand(engine, fresh_encodings):
    counter = TokenCounter.for_encoding("cl100k_base", engine, allow_download=False)
    messages = [
        {"role": "system", "content": "hello world"},  # 3 + 1 + 2
        {"role": "user", "content": "Hello, world!", "name": "bob"},  # 3 + 1 + 4 + (1 + 1)
        {
            "role": "assistant",
            "content": "The quick brown fox jumps over the lazy dog.",
        },  # 3 + 1 + 10
    ]
    figures = count_chat(messages, counter)
    assert figures.total == 6 + 10 + 14 + 3  # + 3 to prime the reply
    assert figures.assistant == 10
    assert not figures.approximate


def test_report_totals_by_hand(write):
    rows = [chat("hello world", "Hello, world!", system=None)] * 1 + good_chats(59)
    report = inspect_file(write(rows), InspectOptions(model="gpt-3.5-turbo", workers=1))
    assert report.encoding.used == "cl100k_base" and report.exact
    assert report.token_counts[0] == (3 + 1 + 2) + (3 + 1 + 4) + 3
    assert report.assistant_counts[0] == 4


def test_weight_zero_is_not_trained(write):
    row = {
        "messages": [
            {"role": "user", "content": "hello world"},
            {"role": "assistant", "content": "hello world", "weight": 0},
            {"role": "user", "content": "hello world"},
            {"role": "assistant", "content": "Hello, world!", "weight": 1},
        ]
    }
    report = inspect_file(
        write([row, *good_chats(59)]), InspectOptions(model="gpt-3.5-turbo", workers=1)
    )
    assert report.assistant_counts[0] == 4


@pytest.mark.skipif(not HAS_BPE, reason="bpe-openai not installed")
def test_o200k_exact_offline(fresh_encodings):
    count, choice = load_encoding("o200k_base", ENGINE_BPE, allow_download=False)
    assert choice.exact and choice.used == "o200k_base"
    assert count("hello world") == 2
    assert count("a" * 2_000_000) == 250_000  # linear time: a pathological line stays fast


def test_o200k_unavailable_falls_back_to_cl100k_and_says_so(tmp_path, monkeypatch, fresh_encodings):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    count, choice = load_encoding(
        "o200k_base", ENGINE_TIKTOKEN, allow_download=True
    )  # offline env: no download
    assert not choice.exact
    assert (choice.requested, choice.used) == ("o200k_base", "cl100k_base")
    assert "approximate" in choice.note and "offline" in choice.note
    assert count("hello world") == 2


def test_fallback_marks_the_report_approximate(write, tmp_path, monkeypatch, fresh_encodings):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    report = inspect_file(
        write(good_chats(60)),
        InspectOptions(model="gpt-4o-mini", engine=ENGINE_TIKTOKEN, workers=1),
    )
    assert not report.exact and report.encoding.used == "cl100k_base"
    assert any("approximate" in note for note in report.approximations)
    data = report.to_dict()
    assert data["exact"] is False and data["encoding"] == "cl100k_base"


def test_tiktoken_cache_dir_is_honoured(tmp_path, monkeypatch, fresh_encodings):
    from backends.data.tokenizer import offline_cl100k_file

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    assert tiktoken_cache_dir() == str(tmp_path / "cache")
    seed_tiktoken_cache("cl100k_base", offline_cl100k_file())
    _count, choice = load_encoding("cl100k_base", ENGINE_TIKTOKEN, allow_download=False)
    assert str(tmp_path / "cache") in choice.source


def test_seeding_refuses_a_wrong_file(tmp_path):
    bogus = tmp_path / "bogus.tiktoken"
    bogus.write_text("not an encoding")
    with pytest.raises(EncodingUnavailable):
        seed_tiktoken_cache("o200k_base", bogus)


def test_lone_surrogates_are_counted_not_fatal(fresh_encodings):
    counter = TokenCounter.for_encoding("cl100k_base", allow_download=False)
    assert counter("a\ud800b") >= 2


def test_same_totals_as_the_cookbook_procedure(tmp_path):
    """The Cookbook's procedure (bench/cookbook_baseline.py) and ours agree on cl100k_base."""
    import tiktoken

    root = Path(__file__).resolve().parents[3]
    sys.path.insert(0, str(root / "bench"))
    try:
        from cookbook_baseline import run_cookbook
    finally:
        sys.path.remove(str(root / "bench"))
    rows = [
        chat(
            f"Question {i} about {'spokes ' * (i % 7)}?",
            f"Answer {i}: {'true the wheel. ' * (i % 5)}",
            system="You fix bikes." if i % 3 else None,
        )
        for i in range(200)
    ]
    rows.append(
        {
            "messages": [
                {"role": "user", "content": "hi", "name": "sam"},
                {"role": "assistant", "content": "yo"},
            ]
        }
    )
    path = tmp_path / "clean.jsonl"
    path.write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    baseline = run_cookbook(str(path), tiktoken.get_encoding("cl100k_base"))
    ours = inspect_file(path, InspectOptions(model="gpt-3.5-turbo", workers=1))
    assert ours.tokens.total == baseline["total_tokens"]
    assert ours.assistant_tokens.total == baseline["assistant_total"]
    assert ours.billing_tokens == baseline["billing_tokens"]
    assert ours.epochs == baseline["epochs"]
    assert ours.tokens.p5 == pytest.approx(baseline["tokens"]["p5"])
    assert ours.tokens.median == pytest.approx(baseline["tokens"]["median"])


def test_backends_import_without_textual():
    code = "import sys, backends.data, backends.data.hf, backends.data.convert; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "False"
