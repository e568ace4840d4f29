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


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The scan processes started (they still run: this only notes each start)."""
    from backends.data import scan_process

    started: list[str] = []
    real = scan_process.start_child

    def noted(module: str, *args: str) -> object:
        started.append(module)
        return real(module, *args)

    monkeypatch.setattr(scan_process, "start_child", noted)
    return started


def test_small_files_are_scanned_here_with_the_same_report(children: list[str]) -> None:
    """A child costs ~0.5 s to start; the sample takes milliseconds to scan where it is."""
    from backends.data.scan_process import inspect_for_ui

    sample = sample_dataset()
    seen: list[tuple[int, int]] = []
    here = inspect_for_ui(
        str(sample.train),
        str(sample.validation),
        InspectOptions(),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert children == []
    child = inspect_in_subprocess(str(sample.train), str(sample.validation), InspectOptions())
    assert without_timings(here.to_dict()) == without_timings(child.to_dict())
    assert seen and seen[-1][0] == seen[-1][1]


def test_bigger_files_local_models_and_hub_ids_go_to_a_child(
    children: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backends.catalog import Provider
    from backends.data import scan_process

    sample = sample_dataset()
    size = sample.train.stat().st_size
    monkeypatch.setattr(scan_process, "IN_PROCESS_MAX_BYTES", size - 1)
    assert scan_process.inspect_for_ui(str(sample.train), None, InspectOptions()).ok
    assert len(children) == 1
    monkeypatch.setattr(scan_process, "IN_PROCESS_MAX_BYTES", size)  # what the child reads
    assert not scan_process.inspect_for_ui(str(tmp_path / "nope.jsonl"), None, InspectOptions()).ok
    assert len(children) == 2
    with pytest.raises(ScanFailed) as failure:
        scan_process.inspect_for_ui("someone/no-such-dataset", None, InspectOptions())
    assert "someone/no-such-dataset" in str(failure.value)
    assert len(children) == 3
    local = InspectOptions(provider=Provider.LOCAL, model=str(tmp_path / "no-model"))
    scan_process.inspect_for_ui(str(sample.train), None, local)  # transformers loads there
    assert len(children) == 4
    assert scan_process.inspect_for_ui(str(sample.train), None, InspectOptions()).ok
    assert len(children) == 4  # and a small file for a hosted model is scanned here
