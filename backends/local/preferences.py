"""The preference data of a local DPO run: every pair read, checked and ready to tokenise.

A source is a local JSONL/JSON file (OpenAI's DPO layout or Hugging Face's
``prompt``/``chosen``/``rejected``, conversational or plain text) or a Hugging Face dataset (a
hub id, a ``save_to_disk`` folder, a parquet/csv/arrow file): the training data is its
``train`` split, a validation source its ``test`` split. A row with an error stops the run
before any model is loaded (``DatasetRejected`` names the rows); identical answers are a
warning, counted in the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.data.chat_checks import ChatRules, check_messages
from backends.data.findings import Finding, Severity
from backends.data.formats import ConversionError
from backends.data.hf import DatasetUnavailable, is_hf_source, open_hf
from backends.data.preferences import PreferencePair, is_preference, pair_findings, to_pair
from backends.local.dataset import SHOWN_PROBLEMS, DatasetRejected, parsed_rows

_IGNORED = frozenset({"missing_system_message", "weight_ignored", "message_unrecognized_key"})


@dataclass
class LoadedPairs:
    pairs: list[PreferencePair]
    source: str
    lines: list[int] = field(default_factory=list)
    """The line (or row, from 1) each pair came from."""
    identical: int = 0
    conversational: int = 0


def _rows(source: str, split: str) -> Iterator[tuple[int, Any, Finding | None]]:
    path = Path(source)
    if path.is_file() and path.suffix.lower() in (".jsonl", ".json", ".txt", ""):
        yield from parsed_rows(path)
        return
    if not is_hf_source(source):
        raise DatasetRejected(f"{source}: no such file, and not a Hugging Face dataset id.")
    try:
        opened = open_hf(source, split)
    except DatasetUnavailable as error:
        raise DatasetRejected(f"{source}: {error}") from None
    for index, row in enumerate(opened.records(), start=1):
        yield index, row, None


def _check(value: Any, line: int) -> tuple[PreferencePair | None, list[Finding]]:
    if not isinstance(value, dict):
        kind = type(value).__name__
        return None, [Finding("not_an_object", line, f"Row is a JSON {kind}, not an object")]
    if not is_preference(value):
        keys = ", ".join(sorted(map(str, value))[:6]) or "none"
        message = (
            f"Not a preference pair (keys: {keys}): DPO reads input/preferred_output/"
            "non_preferred_output or prompt/chosen/rejected"
        )
        return None, [Finding("unknown_format", line, message)]
    try:
        pair = to_pair(value)
    except ConversionError as error:
        return None, [Finding("data_type", line, f"Preference pair: {error}")]
    findings: list[Finding] = []
    rules = ChatRules(local=True)
    for key, side in (
        ("prompt", pair.prompt),
        ("chosen", pair.chosen),
        ("rejected", pair.rejected),
    ):
        if isinstance(side, list):
            check_messages(side, line, findings, rules, key, need_assistant=False)
    findings.extend(pair_findings(pair, line))
    findings = [f for f in findings if f.code not in _IGNORED]
    return pair, findings


def load_preferences(source: str | Path, *, split: str = "train") -> LoadedPairs:
    """Every pair of ``source``; ``DatasetRejected`` on any bad row, or when there is none."""
    text = str(source)
    loaded = LoadedPairs([], text)
    errors: list[Finding] = []
    for line, value, finding in _rows(text, split):
        if finding is not None:
            errors.append(finding)
            continue
        pair, findings = _check(value, line)
        bad = [f for f in findings if f.level is Severity.ERROR]
        errors.extend(bad)
        if pair is not None and not bad:
            loaded.pairs.append(pair)
            loaded.lines.append(line)
            loaded.identical += any(f.code == "identical_preference_pair" for f in findings)
            loaded.conversational += pair.conversational
    name = Path(text).name or text
    if errors:
        rows = sorted({f.line for f in errors if f.line is not None})
        shown = "; ".join(
            f"line {f.line}: {f.message}" if f.line else f.message for f in errors[:SHOWN_PROBLEMS]
        )
        more = f" (and {len(errors) - SHOWN_PROBLEMS} more)" if len(errors) > SHOWN_PROBLEMS else ""
        count = f"{len(rows)} bad row{'s' if len(rows) != 1 else ''}" if rows else "a bad file"
        raise DatasetRejected(f"{name} has {count}: {shown}{more}.", errors)
    if not loaded.pairs:
        raise DatasetRejected(f"{name} has no preference pairs to train on.")
    mixed = 0 < loaded.conversational < len(loaded.pairs)
    if mixed:
        raise DatasetRejected(
            f"{name} mixes conversational pairs (lists of messages) and plain-text pairs: "
            "use one kind throughout."
        )
    return loaded
