"""Together AI's data: the record layout it trains on (SFT, DPO), the files' checks, and the
job's creation parameters."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from backends.backend import Problem
from backends.hosted.together_api import INTEGER_HYPER, LABEL
from backends.registry import TOGETHER_HYPERPARAMETERS
from backends.runs.values import AUTO, DPO, FULL, RunSpec
from backends.text import printable_line


def _first_record_format(path: Path) -> str:
    """``preference pairs``, ``chat`` or ``text`` from the first record's keys ("" unknown)."""
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                if raw.strip():
                    record = orjson.loads(raw)
                    break
            else:
                return ""
    except (OSError, orjson.JSONDecodeError):
        return ""
    if not isinstance(record, dict):
        return ""
    if "preferred_output" in record:
        return "preference pairs"
    return "chat" if "messages" in record else "text or prompt/completion"


def together_record(method: str) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """One example in a layout Together takes (``None``: it already is one); raises
    ``ConversionError`` for one that cannot be converted."""
    from backends.data.formats import ConversionError, DataFormat, detect_format, to_chat
    from backends.data.preferences import is_hf_preference, to_preference_record

    def convert(example: dict[str, Any]) -> dict[str, Any] | None:
        if method == DPO:
            if "preferred_output" in example or "non_preferred_output" in example:
                return None
            if is_hf_preference(example):
                return to_preference_record(example)
            raise ConversionError(
                "not a preference pair (DPO takes prompt/chosen/rejected or "
                "input/preferred_output/non_preferred_output)"
            )
        fmt = detect_format(example)
        if fmt in (DataFormat.CHAT, DataFormat.PROMPT_COMPLETION):
            return None
        if fmt is DataFormat.UNKNOWN and isinstance(example.get("text"), str):
            return None
        if fmt.convertible:
            return to_chat(example, fmt)
        if fmt is DataFormat.DPO:
            raise ConversionError("a preference pair: train this file with DPO")
        keys = ", ".join(sorted(str(k) for k in example)[:6]) or "none"
        raise ConversionError(f"unrecognised format (keys: {keys})")

    return convert


def create_params(spec: RunSpec, training_file: str, validation_file: str | None) -> dict[str, Any]:
    """Keyword arguments for ``client.fine_tuning.create`` (``auto`` leaves Together's default)."""
    params: dict[str, Any] = {
        "training_file": training_file,
        "model": spec.model,
        "training_method": "dpo" if spec.method == DPO else "sft",
        "lora": spec.adapter != FULL,
    }
    if spec.method != DPO:
        # Together's default, said out loud: unset, the SDK prints a warning to the terminal.
        params["train_on_inputs"] = "auto"
    if validation_file:
        params["validation_file"] = validation_file
    for name in TOGETHER_HYPERPARAMETERS:
        value = spec.hyper(name)
        if value == AUTO:
            continue
        target = "dpo_beta" if name == "beta" else name
        if name == "beta" and spec.method != DPO:
            continue
        if spec.adapter == FULL and name.startswith("lora_"):
            continue
        params[target] = int(value) if name in INTEGER_HYPER else float(value)
    if spec.suffix:
        params["suffix"] = spec.suffix
    if spec.seed is not None:
        params["random_seed"] = int(spec.seed)
    wandb = spec.settings.get("wandb")
    if isinstance(wandb, dict) and wandb.get("project"):
        params["wandb_project_name"] = str(wandb["project"])
        if wandb.get("name"):
            params["wandb_name"] = str(wandb["name"])
        key = os.environ.get("WANDB_API_KEY")
        if key:  # sent to Together, never written down
            params["wandb_api_key"] = key
    return params


def check_file(path: Path, *, label: str = "training", method: str = "supervised") -> list[Problem]:
    """Together's own file rules (the SDK's ``check_file``: format, size, minimum examples),
    plus the objective's format: DPO takes preference pairs, SFT does not."""
    try:
        from together.lib.utils.files import check_file as sdk_check
    except ImportError:
        return []
    report = sdk_check(path, purpose="fine-tune")
    where = str(path)
    if not report.get("is_check_passed"):
        message = printable_line(str(report.get("message") or "the file does not pass"))
        return [Problem(f"{LABEL} would refuse the {label} file: {message}", where=where)]
    problems = []
    found = _first_record_format(path)
    if method == DPO and found and "preference" not in found:
        problems.append(
            Problem(
                f"DPO on {LABEL} needs preference pairs (input, preferred_output, "
                f"non_preferred_output); the {label} file is {found}.",
                where=where,
            )
        )
    if method != DPO and "preference" in found:
        problems.append(
            Problem(
                f"The {label} file holds preference pairs: choose DPO, not supervised.",
                where=where,
            )
        )
    return problems
