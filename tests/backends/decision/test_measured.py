"""``backends.decision.measured``: a dataset report's figures into the decision's measurements."""

from __future__ import annotations

from dataclasses import dataclass

from backends.decision import Answers
from backends.decision.measured import record_dataset


@dataclass
class Report:
    source: str = "train.jsonl"
    valid_examples: int = 120
    charged_tokens: int = 360_000
    estimated_cost_usd: float | None = 1.08
    cancelled: bool = False


def test_a_report_fills_the_measured_figures() -> None:
    answers = Answers()
    assert record_dataset(answers, Report())
    measured = answers.measured
    assert (measured.examples, measured.training_tokens) == (120, 360_000)
    assert measured.training_cost == 1.08 and measured.source == "train.jsonl"


def test_a_cancelled_report_changes_nothing() -> None:
    answers = Answers()
    assert not record_dataset(answers, Report(cancelled=True))
    assert answers.measured.examples is None and answers.measured.source == ""
