"""What the other steps measured, into the decision's ``Measured`` figures.

The Dataset step's report gives the training data's size and bill; an
evaluation's figures are ``backends.evaluate.outcome``'s. A report is read
through ``DatasetFigures`` (what it must have), so the decision does not
depend on the data package.
"""

from __future__ import annotations

from typing import Protocol

from backends.decision.answers import Answers


class DatasetFigures(Protocol):
    """What the decision reads of a dataset report (``backends.data.report.DatasetReport``)."""

    @property
    def source(self) -> str: ...
    @property
    def valid_examples(self) -> int: ...
    @property
    def charged_tokens(self) -> int: ...
    @property
    def estimated_cost_usd(self) -> float | None: ...
    @property
    def cancelled(self) -> bool: ...


def record_dataset(answers: Answers, report: DatasetFigures) -> bool:
    """The report's figures into ``answers.measured`` (Cost and Benefit); ``False``: it was cancelled."""
    if report.cancelled:
        return False
    measured = answers.measured
    measured.examples = report.valid_examples
    measured.training_tokens = report.charged_tokens
    measured.training_cost = report.estimated_cost_usd
    measured.source = report.source
    return True
