"""The held-out set, prompt building, and BM25 ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.evaluate import prompts
from tests.support.data_files import write_jsonl
from tests.support.evaluate import qa


def test_bm25_ranks_a_toy_corpus() -> None:
    corpus = [
        "how do I reset my password",
        "the weather in paris is sunny",
        "password reset link expired, how do I get a new password",
        "paris restaurants open on sunday",
    ]
    index = prompts.BM25(corpus)
    top = index.top("reset password", 2)
    assert [i for i, _ in top] == [2, 0] or [i for i, _ in top] == [0, 2]
    assert all(score > 0 for _, score in top)
    assert [i for i, _ in index.top("paris weather", 2)] == [1, 3]
    # a word in every document has a low (still positive) idf; an unknown word scores nothing
    assert index.scores("zebra") == [0.0, 0.0, 0.0, 0.0]
    assert index.top("anything", 0) == []


def test_bm25_by_hand() -> None:
    # N=2; "cat" in doc 0 only → idf = ln((2-1+0.5)/(1+0.5) + 1) = ln 2
    # doc 0 has 2 tokens, avg 2 → norm = k1 → score = ln2 · 1 · (k1+1)/(1+k1) = ln 2
    import math

    index = prompts.BM25(["cat sat", "dog ran"])
    assert index.scores("cat") == pytest.approx([math.log(2), 0.0])


def test_example_splits_prompt_and_reference(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [
            qa(1),
            {"prompt": "Say hi", "completion": "hi"},
            {"messages": [{"role": "user", "content": "no answer"}]},
        ],
    )
    loaded = prompts.load_examples(path)
    assert len(loaded.examples) == 2
    first = loaded.examples[0]
    assert first.reference == "2"
    assert first.system == "Answer with the number only."
    assert [m["role"] for m in first.prompt] == ["system", "user"]
    assert loaded.skipped == [
        "line 3: the last message is not an assistant turn (nothing to compare to)"
    ]


def test_pool_never_holds_an_evaluation_example(tmp_path: Path) -> None:
    evaluate = write_jsonl(tmp_path / "eval.jsonl", [qa(1), qa(2)])
    train = write_jsonl(tmp_path / "train.jsonl", [qa(i) for i in range(10)])
    eval_set = prompts.load_eval_set(evaluate, train)
    assert len(eval_set.pool) == 8
    assert {e.fingerprint for e in eval_set.pool}.isdisjoint(
        e.fingerprint for e in eval_set.examples
    )
    assert "2 training example(s)" in eval_set.notes[0]


def test_seeded_split_is_stable_and_write_split_matches(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", [qa(i) for i in range(20)])
    first = prompts.split_eval_set(train, fraction=0.25, seed=7)
    again = prompts.split_eval_set(train, fraction=0.25, seed=7)
    assert [e.line for e in first.examples] == [e.line for e in again.examples]
    assert len(first.examples) == 5 and len(first.pool) == 15
    rest, held = prompts.write_split(
        train, tmp_path / "rest.jsonl", tmp_path / "held.jsonl", fraction=0.25, seed=7
    )
    assert (rest, held) == (15, 5)
    # training on the rest never sees a held-out example: drop_trained finds none
    assert prompts.drop_trained(first, tmp_path / "rest.jsonl") == 0
    # training on the whole file would: they are all dropped, and said so
    assert prompts.drop_trained(first, train) == 5
    assert first.examples == [] and "left out" in first.notes[-1]


def test_few_shot_and_rag_prompts() -> None:
    pool = [prompts.example_from_chat(qa(i), i + 1) for i in range(6)]
    target = prompts.example_from_chat(qa(42), 1)
    shots = prompts.choose_shots(pool, 3, seed=0)
    assert len(shots) == 3 and shots == prompts.choose_shots(pool, 3, seed=0)
    messages = prompts.few_shot(target, shots)
    assert [m["role"] for m in messages] == ["system", "user", "assistant"] * 1 + [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert messages[-1]["content"] == "What is 42 plus 42?"
    retrieved = prompts.Retriever(pool)(prompts.example_from_chat(qa(3), 1), 2)
    assert retrieved[0].reference == "6"  # the one sharing "3"
    rag = prompts.rag(target, retrieved)
    assert [m["role"] for m in rag] == ["system", "user"]
    assert rag[0]["content"].startswith("Answer with the number only.")
    assert prompts.RAG_HEADER in rag[0]["content"]
    assert prompts.zero_shot(target) == list(target.prompt)


def test_missing_or_empty_file_says_what(tmp_path: Path) -> None:
    with pytest.raises(prompts.EvalDataError, match="no such file"):
        prompts.load_eval_set(tmp_path / "nope.jsonl")
    empty = tmp_path / "bad.jsonl"
    empty.write_text("{not json\n")
    with pytest.raises(prompts.EvalDataError, match="no usable example"):
        prompts.load_eval_set(empty)


@pytest.mark.parametrize("layout", ["openai", "hf", "plain"])
def test_preference_pairs_are_their_prompt_and_preferred_answer(
    tmp_path: Path, layout: str
) -> None:
    """A DPO run's data: evaluated on its prompts against the preferred answer, and recognised
    as the tuned model's training file."""
    from tests.support.tiny_model import write_toy_preferences

    pairs = write_toy_preferences(tmp_path / "pairs.jsonl", 3, layout=layout)
    loaded = prompts.load_examples(pairs)
    assert not loaded.skipped
    assert [e.user_text.strip() for e in loaded.examples] == [
        "what colour is the sky ?",
        "what colour is the grass ?",
        "what colour is the sea ?",
    ]
    assert [e.reference for e in loaded.examples][:2] == [
        "the sky is red .",
        "the grass is green .",
    ]
    eval_set = prompts.load_eval_set(str(pairs), None)
    assert prompts.drop_trained(eval_set, pairs) == 3 and not eval_set.examples
