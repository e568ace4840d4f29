"""Hugging Face datasets as inspection input: a local ``save_to_disk`` folder,
local parquet/csv/arrow files, or a dataset id on the Hub.

``datasets`` is imported inside the functions (it takes seconds to import).
A Hub id is checked with a short timeout first, so an offline machine gets a
clear message instead of a hang; with ``HF_HUB_OFFLINE=1`` only the local
cache is tried.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.data.formats import STANDARD_COLUMNS, apply_column_mapping
from backends.data.inspector import InspectOptions, inspect_records
from backends.data.report import DatasetReport
from backends.data.scan import ProgressCallback

HUB_TIMEOUT_S = 5.0
HF_FILE_SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".arrow": "arrow", ".tsv": "csv"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "messages": ("conversation", "chat", "dialog", "dialogue", "turns"),
    "prompt": ("question", "query", "source", "input_text", "context"),
    "completion": ("answer", "response", "target", "output_text", "reply"),
    "instruction": ("instructions", "task"),
    "output": ("outputs", "answer", "response"),
    "conversations": ("conversation",),
}


class DatasetUnavailable(RuntimeError):
    """The dataset cannot be opened; the message says why and what to do."""


@dataclass
class HFSource:
    description: str
    columns: list[str]
    rows: int | None
    splits: list[str]
    split: str
    _dataset: Any

    def records(self, column_mapping: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        mapping = dict(column_mapping or {})
        for row in self._dataset:
            yield apply_column_mapping(drop_nones(row), mapping)


def drop_nones(value: Any) -> Any:
    """Remove ``None`` fields Arrow adds to make rows share one schema (``"weight": None``...)."""
    if isinstance(value, dict):
        return {k: drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nones(v) for v in value]
    return value


def is_hf_source(source: str) -> bool:
    """True for a ``save_to_disk`` folder, a parquet/csv/arrow file, or something shaped like a Hub id."""
    path = Path(source)
    if path.is_dir():
        return any(
            (path / name).exists()
            for name in ("dataset_info.json", "state.json", "dataset_dict.json")
        )
    if path.exists():
        return path.suffix.lower() in HF_FILE_SUFFIXES
    return (
        bool(_HUB_ID.match(source)) and "/" in source and not source.endswith((".jsonl", ".json"))
    )


def guess_column_mapping(columns: list[str]) -> dict[str, str]:
    """``{standard: column}`` for non-standard columns that look like a known one."""
    present = set(columns)
    if {"chosen", "rejected"} <= present:  # the preference layout: read as it is
        return {}
    for names in STANDARD_COLUMNS.values():
        if all(name in present for name in names if name != "input"):
            return {}
    mapping: dict[str, str] = {}
    lowered = {c.lower(): c for c in columns}
    for standard, synonyms in SYNONYMS.items():
        if standard in present:
            continue
        for synonym in synonyms:
            if synonym in lowered and lowered[synonym] not in mapping.values():
                mapping[standard] = lowered[synonym]
                break
    return mapping


def _offline() -> bool:
    return any(
        os.environ.get(v, "") not in ("", "0") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def open_hf(source: str, split: str = "train") -> HFSource:
    """Open a Hugging Face dataset for reading rows; ``DatasetUnavailable`` with a reason if not."""
    path = Path(source)
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency
        raise DatasetUnavailable("the 'datasets' package is not installed") from exc
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as exc:
            raise DatasetUnavailable(
                f"{source} is not a dataset saved with save_to_disk: {exc}"
            ) from exc
        return _pick_split(loaded, split, f"Hugging Face dataset folder {source}")
    if path.exists():
        builder = HF_FILE_SUFFIXES.get(path.suffix.lower())
        if builder is None:
            raise DatasetUnavailable(f"{source}: not a parquet, csv or arrow file")
        extra = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        try:
            loaded = datasets.load_dataset(builder, data_files=str(path), split="train", **extra)
        except Exception as exc:  # datasets raises many kinds for a bad file
            raise DatasetUnavailable(f"{source}: cannot be read as {builder}: {exc}") from exc
        return _pick_split(loaded, "train", f"{builder} file {source}")
    return _open_hub(source, split, datasets)


def _open_hub(repo_id: str, split: str, datasets: Any) -> HFSource:
    if not _offline():
        from huggingface_hub import HfApi

        try:
            HfApi().dataset_info(repo_id, timeout=HUB_TIMEOUT_S)
        except Exception as exc:
            name = type(exc).__name__
            if (
                "NotFound" in name
                or "RepositoryNotFound" in name
                or "401" in str(exc)
                or "404" in str(exc)
            ):
                raise DatasetUnavailable(
                    f"{repo_id}: no such dataset on the Hugging Face Hub (or it is private)"
                ) from exc
            raise DatasetUnavailable(
                f"{repo_id}: the Hugging Face Hub cannot be reached ({name}). Check the network, "
                "or download the dataset where there is one and pass its save_to_disk folder."
            ) from exc
    try:
        loaded = datasets.load_dataset(repo_id, split=split)
    except Exception as exc:
        if _offline():
            raise DatasetUnavailable(
                f"{repo_id}: offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) and the dataset is not in "
                "the local Hugging Face cache. Unset offline mode on a connected machine, or pass a local folder."
            ) from exc
        raise DatasetUnavailable(f"{repo_id}: cannot load split {split!r}: {exc}") from exc
    return _pick_split(loaded, split, f"Hugging Face Hub dataset {repo_id}")


def _pick_split(loaded: Any, split: str, description: str) -> HFSource:
    splits = [split]
    if isinstance(loaded, dict):  # a DatasetDict: one Dataset per split
        splits = list(loaded.keys())
        if split not in loaded:
            raise DatasetUnavailable(
                f"{description} has no split {split!r}; it has: {', '.join(splits)}"
            )
        loaded = loaded[split]
    rows = len(loaded) if hasattr(loaded, "__len__") else None
    return HFSource(
        f"{description} [{split}]", list(loaded.column_names), rows, splits, split, loaded
    )


def inspect_hf(
    source: str,
    options: InspectOptions | None = None,
    split: str = "train",
    column_mapping: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    """Open a Hugging Face dataset and inspect its rows (columns mapped, guessed if not given)."""
    opened = open_hf(source, split)
    mapping = dict(column_mapping) if column_mapping else guess_column_mapping(opened.columns)
    report = inspect_records(
        opened.records(mapping), opened.description, options, opened.rows, progress, cancel
    )
    if mapping:
        pairs = ", ".join(f"{column} → {standard}" for standard, column in mapping.items())
        report.notes.append(f"Columns mapped: {pairs}.")
    return report
