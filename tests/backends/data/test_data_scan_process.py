"""The scan in a child process: same report as in-process, cancellable, errors as messages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backends.data.inspector import InspectOptions
from backends.data.samples import sample_dataset
from backends.data.scan_process import ScanFailed, inspect_in_subprocess
from backends.data.sources import inspect_source


def without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "elapsed_s"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_child_report_matches_the_in_process_one() -> None:
    sample = sample_dataset()
    seen: list[tuple[int, int]] = []
    child = inspect_in_subprocess(
        str(sample.train),
        str(sample.validation),
        InspectOptions(),
        progress=lambda d, t: seen.append((d, t)),
    )
    here = inspect_source(str(sample.train), str(sample.validation), InspectOptions())
    assert without_timings(child.to_dict()) == without_timings(here.to_dict())
    assert list(child.token_counts) == list(here.token_counts)
    assert seen and seen[-1][0] == seen[-1][1]


def test_cancel_mid_scan_returns_a_partial_report(tmp_path: Path) -> None:
    line = b'{"messages": [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}]}\n'
    big = tmp_path / "big.jsonl"
    big.write_bytes(line * (60 * 2**20 // len(line)))
    cancel = threading.Event()
    report = inspect_in_subprocess(
        str(big), None, InspectOptions(), progress=lambda d, t: cancel.set(), cancel=cancel
    )
    assert report.cancelled
    # Figures cover the chunks finished in file order before the stop: fewer than all.
    assert report.examples < big.stat().st_size // len(line)


def test_a_missing_file_is_a_finding_naming_it(tmp_path: Path) -> None:
    report = inspect_in_subprocess(str(tmp_path / "nope.jsonl"), None, InspectOptions())
    assert not report.ok
    messages = [f.message for group in report.findings for f in group.samples]
    assert any("nope.jsonl" in message or "No such file" in message for message in messages), (
        messages
    )


def test_an_unreadable_hub_source_is_a_message_not_a_traceback() -> None:
    with pytest.raises(ScanFailed) as failure:
        inspect_in_subprocess("someone/no-such-dataset", None, InspectOptions())
    assert "someone/no-such-dataset" in str(failure.value)
    assert "Traceback" not in str(failure.value)
