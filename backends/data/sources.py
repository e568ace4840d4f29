"""One entry point for every kind of training source the Dataset step accepts.

A path to a JSONL/JSON file is streamed; a ``save_to_disk`` folder, a local
parquet/csv file or a Hugging Face hub id goes through ``datasets``. The
validation file, when given, is inspected the same way and attached to the
report.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from backends.data.hf import inspect_hf, is_hf_source
from backends.data.inspector import InspectOptions, inspect_file
from backends.data.report import DatasetReport
from backends.data.scan import ProgressCallback


def describe_problem(source: str) -> str | None:
    """Why ``source`` cannot be inspected at all (``None`` when it can be tried)."""
    text = source.strip()
    if not text:
        return "Give a training file: a JSONL file, a dataset folder or a Hugging Face hub id."
    path = Path(text).expanduser()
    if path.is_file() or is_hf_source(text):
        return None
    if path.is_dir():
        return f"{text} is a folder but not a saved Hugging Face dataset (no dataset_info.json)."
    return f"{text}: no such file, and not a Hugging Face hub id (owner/name)."


def inspect_source(
    source: str,
    validation: str | None,
    options: InspectOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    report = _inspect_one(source, options, progress, cancel)
    if validation and not report.cancelled:
        report.validation = _inspect_one(
            validation, replace(options, is_validation=True), None, cancel
        )
    return report


def _inspect_one(
    source: str,
    options: InspectOptions,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> DatasetReport:
    path = Path(source).expanduser()
    if not path.is_file() and is_hf_source(source):
        return inspect_hf(source, options, progress=progress, cancel=cancel)
    return inspect_file(path, options, progress, cancel)


def raw_line(path: str | Path, line_number: int, *, max_chars: int = 4000) -> str | None:
    """The text of line ``line_number`` (1-based) of a file, cut to ``max_chars``; ``None`` past the end.

    Reads line by line (bounded memory), so a late line of a huge file takes a
    moment: call it from a worker thread.
    """
    with open(Path(path).expanduser(), "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == line_number:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                return text if len(text) <= max_chars else text[:max_chars] + " …"
    return None
