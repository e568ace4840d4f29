"""Scoring functions against values worked out by hand."""

from __future__ import annotations

import pytest

from backends.evaluate import scoring


def test_normalise_drops_case_punctuation_articles() -> None:
    assert scoring.normalise("  The Cat, sat on a MAT! ") == "cat sat on mat"


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The answer is 42.", "answer is 42", 1.0),
        ("42", "43", 0.0),
        ("", "", 1.0),
    ],
)
def test_exact_match(prediction: str, reference: str, expected: float) -> None:
    assert scoring.exact_match(prediction, reference) == expected


def test_token_f1_by_hand() -> None:
    # prediction tokens: cat sat on mat (4); reference: cat sat on red mat today (6)
    # common = 4 → P = 4/4, R = 4/6 → F1 = 2·1·(2/3)/(1 + 2/3) = 0.8
    assert scoring.token_f1("the cat sat on the mat", "cat sat on red mat today") == pytest.approx(
        0.8
    )
    # multiset overlap: "a a b" vs "a b b" after normalisation ("a" is an article: x instead)
    # x x y vs x y y: common = min(2,1) + min(1,2) = 2 → P = R = 2/3 → F1 = 2/3
    assert scoring.token_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert scoring.token_f1("", "something") == 0.0
    assert scoring.token_f1("nothing shared", "at all") == 0.0


def test_lcs_and_rouge_l_by_hand() -> None:
    assert scoring.lcs_length(["a", "b", "c", "d", "e"], ["a", "c", "e", "x"]) == 3
    # prediction: the cat was found under the bed (7 words)
    # reference: the cat was under the bed (6 words); LCS = 6
    # P = 6/7, R = 6/6 → F = 2·(6/7)·1 / (6/7 + 1) = 12/13
    assert scoring.rouge_l(
        "The cat was found under the bed.", "the cat was under the bed"
    ) == pytest.approx(12 / 13)
    # word order matters: "b a" vs "a b": LCS 1 → P = R = 1/2 → F = 1/2
    assert scoring.rouge_l("b a", "a b") == pytest.approx(0.5)
    assert scoring.rouge_l("", "") == 1.0


def test_score_has_every_metric() -> None:
    assert scoring.score("42", "42") == {"exact_match": 1.0, "token_f1": 1.0, "rouge_l": 1.0}


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    first = scoring.bootstrap_ci(values, seed=3)
    assert first == scoring.bootstrap_ci(values, seed=3)
    assert first is not None
    low, high = first
    assert 0.0 <= low < 0.7 < high <= 1.0
    assert scoring.bootstrap_ci([0.5] * 8) == (0.5, 0.5)
    assert scoring.bootstrap_ci([]) is None
    assert scoring.bootstrap_ci([0.25]) == (0.25, 0.25)


def test_summarise() -> None:
    summary = scoring.summarise([0.0, 1.0, 0.5, 0.5])
    assert summary is not None
    assert summary.mean == pytest.approx(0.5)
    assert summary.n == 4
    assert summary.low <= 0.5 <= summary.high
    assert set(summary.to_dict()) == {"mean", "ci_low", "ci_high", "n"}
