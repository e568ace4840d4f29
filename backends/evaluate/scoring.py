"""Scores of an answer against its reference, and their means with a bootstrap interval.

Every metric is in [0, 1] and needs no service:

- ``exact_match``: 1 when both texts are equal after normalisation
  (lower case, punctuation and the articles a/an/the removed, whitespace
  collapsed: the SQuAD normalisation), else 0.
- ``token_f1``: the harmonic mean of precision and recall of the normalised
  tokens (multiset overlap, as SQuAD scores it). Both empty: 1; one empty: 0.
- ``rouge_l``: the F-measure (beta = 1) of the longest common subsequence of
  the two texts' word tokens (lower case, ``\\w+``; articles kept).

``bootstrap_ci`` resamples the per-example scores with replacement (seeded),
and takes the percentile interval of the resampled means.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

EXACT_MATCH = "exact_match"
TOKEN_F1 = "token_f1"
ROUGE_L = "rouge_l"
METRICS: tuple[str, ...] = (EXACT_MATCH, TOKEN_F1, ROUGE_L)
METRIC_LABELS = {EXACT_MATCH: "exact match", TOKEN_F1: "token F1", ROUGE_L: "ROUGE-L"}

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95

_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_WORD_RE = re.compile(r"\w+")


def normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's normalisation)."""
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES_RE.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return 1.0 if normalise(prediction) == normalise(reference) else 0.0


def token_f1(prediction: str, reference: str) -> float:
    predicted = normalise(prediction).split()
    expected = normalise(reference).split()
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (two-row dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for item in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(
                previous[j - 1] + 1 if item == other else max(previous[j], current[j - 1])
            )
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    predicted = _WORD_RE.findall(prediction.lower())
    expected = _WORD_RE.findall(reference.lower())
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    lcs = lcs_length(predicted, expected)
    if lcs == 0:
        return 0.0
    precision = lcs / len(predicted)
    recall = lcs / len(expected)
    return 2 * precision * recall / (precision + recall)


_SCORERS = {EXACT_MATCH: exact_match, TOKEN_F1: token_f1, ROUGE_L: rouge_l}


def score(prediction: str, reference: str) -> dict[str, float]:
    """Every metric for one answer."""
    return {name: scorer(prediction, reference) for name, scorer in _SCORERS.items()}


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def bootstrap_ci(
    values: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the mean; ``None`` without values."""
    n = len(values)
    if n == 0:
        return None
    if n == 1:
        return (float(values[0]), float(values[0]))
    rng = random.Random(seed)
    data = list(values)
    means = sorted(sum(rng.choices(data, k=n)) / n for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    low = means[max(0, int(tail * resamples))]
    high = means[min(resamples - 1, int((1.0 - tail) * resamples) - 1)]
    return (low, high)


@dataclass(frozen=True)
class Summary:
    """A metric's mean over examples, with its bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n": self.n}


def summarise(
    values: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Summary | None:
    average = mean(values)
    interval = bootstrap_ci(values, resamples=resamples, confidence=confidence, seed=seed)
    if average is None or interval is None:
        return None
    return Summary(average, interval[0], interval[1], len(values))
