"""A hosted run's ``RunSpec`` from what a person typed: shared by ``finetune-tui train`` and the UI."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backends import registry
from backends.files import sha256_of
from backends.hosted.api import DPO_HYPERPARAMETERS, SUPERVISED_HYPERPARAMETERS
from backends.runs.values import AUTO, DPO, RunSpec


def hyper_value(text: str | int | float | None) -> int | float | str:
    """``"auto"`` (also for blank) or the number; raises ``ValueError`` for anything else."""
    if text is None:
        return AUTO
    if isinstance(text, (int, float)):
        return text
    cleaned = text.strip().lower()
    if not cleaned or cleaned == AUTO:
        return AUTO
    try:
        return int(cleaned)
    except ValueError:
        return float(cleaned)


HYPER_FLAGS = {
    "n_epochs": "--epochs",
    "batch_size": "--batch-size",
    "learning_rate_multiplier": "--lr-multiplier",
    "beta": "--beta",
}
"""The command-line flag of each hosted hyperparameter."""
_WHOLE = ("n_epochs", "batch_size")
_LARGEST = 2**31 - 1


def hyper_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be hyperparameter ``name`` (a finite positive number), or ``None``."""
    label = HYPER_FLAGS.get(name, name)
    whole = name in _WHOLE
    kind = "a whole number" if whole else "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{label} must be 'auto' or {kind} above 0, not {value!r}."
    if whole and not (isinstance(value, int) or float(value).is_integer()):
        return f"{label} must be 'auto' or {kind} above 0, not {value!r}."
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not (math.isfinite(number) and 0 < number <= _LARGEST):
        return f"{label} must be 'auto' or {kind} above 0 and at most {_LARGEST:,}, not {value!r}."
    return None


def hosted_hyperparameters(
    method: str, values: Mapping[str, str | int | float | None], *, backend: str | None = None
) -> dict[str, int | float | str]:
    """The hyperparameters ``method`` takes on ``backend`` (default OpenAI's), each ``"auto"`` or
    a number (``beta`` only for DPO). Values for names the backend does not take are ignored."""
    info = registry.find(backend)
    if info is not None and info.hyperparameters:
        names = info.hyperparameter_names(method)
    else:
        names = DPO_HYPERPARAMETERS if method == DPO else SUPERVISED_HYPERPARAMETERS
    return {name: hyper_value(values.get(name)) for name in names}


def hosted_spec(
    backend: str,
    *,
    model: str,
    data: str,
    validation: str | None = None,
    method: str = "supervised",
    hyperparameters: Mapping[str, int | float | str] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    settings: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    hash_files: bool = True,
    adapter: str | None = None,
) -> RunSpec:
    """The spec ``launch`` takes: absolute paths, and the training file's hash when it exists.

    ``hash_files=False`` skips reading the file (a quick check while a form is edited).
    """
    data_path = Path(data).expanduser()
    return RunSpec(
        backend=backend,
        model=model.strip(),
        dataset=str(data_path.resolve()),
        dataset_sha256=sha256_of(data_path) if hash_files and data_path.is_file() else "",
        validation=str(Path(validation).expanduser().resolve()) if validation else None,
        method=method,
        hyperparameters=dict(hyperparameters or {}),
        suffix=suffix or None,
        seed=seed,
        settings=dict(settings or {}),
        metadata=dict(metadata or {}),
        adapter=adapter,
    )


def parse_metadata(text: str) -> dict[str, str]:
    """``team=search, ticket=ML-42`` → a dict; raises ``ValueError`` naming the bad part."""
    pairs: dict[str, str] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"metadata {part!r}: write key=value, separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs
