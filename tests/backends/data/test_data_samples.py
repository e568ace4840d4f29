"""The shipped sample dataset is real, varied and clean."""

from __future__ import annotations

import orjson

from backends.data import InspectOptions, Severity, inspect_with_validation
from backends.data.render import render_text
from backends.data.samples import sample_dataset


def rows(path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_sample_files_exist_and_are_varied():
    sample = sample_dataset()
    train, valid = rows(sample.train), rows(sample.validation)
    assert len(train) >= 60 and len(valid) >= 10
    with_tools = [r for r in train if "tools" in r]
    assert len(with_tools) >= 10
    assert any(m.get("weight") == 0 for r in train for m in r["messages"])
    assert any(sum(m["role"] == "user" for m in r["messages"]) > 1 for r in train)  # multi-turn
    assert not {orjson.dumps(r) for r in train} & {orjson.dumps(r) for r in valid}


def test_sample_passes_the_checks_cleanly():
    sample = sample_dataset()
    report = inspect_with_validation(sample.train, sample.validation, InspectOptions(workers=1))
    assert report.ok
    assert report.count(Severity.WARNING) == 0
    assert report.count(Severity.INFO) == 0
    assert report.validation is not None and report.validation.valid_examples >= 10
    assert report.encoding.exact or report.encoding.used == "cl100k_base"


def test_report_renders_as_text():
    sample = sample_dataset()
    text = render_text(
        inspect_with_validation(sample.train, sample.validation, InspectOptions(workers=1))
    )
    assert "Verdict: **OK" in text and "## Validation file" in text and "Cost per model" in text
    assert text.count("Cost per model") == 1  # validation files are not billed
