"""The Summary tab's figures read as sentences whether or not a context limit is known."""

from __future__ import annotations

from dataclasses import replace

from backends.catalog import Provider
from backends.data.inspector import InspectOptions, inspect_file
from backends.data.samples import sample_dataset
from tui.screens.dataset.panes import summary_text


def _limit_line(text: str) -> str:
    return next(line for line in text.splitlines() if "Over the limit" in line)


def test_the_limit_line_names_the_limit_or_says_none_is_known() -> None:
    sample = sample_dataset()
    known = inspect_file(sample.train, InspectOptions(model="gpt-4o-mini"))
    assert known.context_limit
    line = _limit_line(summary_text(known))
    assert f"longer than {known.context_limit:,} tokens (truncated)" in line
    unknown = replace(known, context_limit=None)
    line = _limit_line(summary_text(unknown))
    assert line.endswith("not checked: no context limit is known"), line


def test_a_model_outside_the_catalog_gets_no_limit_and_says_so() -> None:
    report = inspect_file(
        sample_dataset().train, InspectOptions(model="not-a-model", provider=Provider.OPENAI)
    )
    assert report.context_limit is None
    assert "no context limit is known" in _limit_line(summary_text(report))
