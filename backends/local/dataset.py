"""The training file as trl's conversational records, checked with the dataset engine's rules.

Every line goes through ``backends.data`` (the same reader and chat checks as
``finetune-tui inspect``): chat examples pass through, prompt/completion,
Alpaca and ShareGPT examples are converted to chat. A line with an error
stops the run before any model is loaded (``DatasetRejected`` names the
lines and what is wrong with each); warnings do not.

What trl gets: ``{"messages": [...]}`` plus ``"tools"`` when the example
defines tools. Message keys no chat template reads (``weight``) are dropped,
and tool-call ``arguments`` written as JSON strings (OpenAI's format) become
objects (the Hugging Face chat-template convention): see
``backends.data.chat_template.for_template``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from backends.backend import BackendError
from backends.data.chat_checks import ChatRules, check_messages
from backends.data.chat_template import for_template
from backends.data.findings import Finding, Severity
from backends.data.formats import ConversionError, DataFormat, detect_format, to_chat
from backends.data.reader import iter_lines, probe_file

SHOWN_PROBLEMS = 5
T = TypeVar("T")
_IGNORED_FOR_LOCAL = frozenset(
    {"missing_system_message", "weight_ignored", "message_unrecognized_key"}
)


class DatasetRejected(BackendError):
    """The training data has rows that cannot be trained on."""

    def __init__(
        self, message: str, findings: list[Finding] | None = None, *, hint: str | None = None
    ) -> None:
        super().__init__(
            message.rstrip(".") + ".",
            hint=LINES_HINT if hint is None else hint,
        )
        self.findings = findings or []


LINES_HINT = "Fix those lines (`finetune-tui inspect FILE` lists every problem) and launch again."
FILE_HINT = "Give --data a JSONL file (one example per line)."


@dataclass
class LoadedData:
    records: list[dict[str, Any]]
    path: Path
    lines: list[int] = field(default_factory=list)
    """The line of the file each record came from."""
    formats: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    with_tools: int = 0


def _check(value: Any, line: int) -> tuple[dict[str, Any] | None, list[Finding], str]:
    """The record for one parsed line, the findings about it, and its format name."""
    findings: list[Finding] = []
    if not isinstance(value, dict):
        kind = type(value).__name__
        return None, [Finding("not_an_object", line, f"Line is a JSON {kind}, not an object")], "?"
    fmt = detect_format(value)
    if fmt is DataFormat.DPO:
        message = "DPO preference pairs: train them with --method dpo (this run is supervised)"
        return None, [Finding("unknown_format", line, message)], fmt.value
    try:
        chat = to_chat(value, fmt)
    except ConversionError as error:
        return None, [Finding("unknown_format", line, f"{fmt.label}: {error}")], fmt.value
    ok = check_messages(chat.get("messages"), line, findings, ChatRules(local=True))
    if ok and fmt is DataFormat.CHAT and chat.get("tools") is not None:
        tools = chat["tools"]
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            findings.append(
                Finding("data_type", line, '"tools" must be a list of objects', "tools")
            )
            ok = False
    findings = [f for f in findings if f.code not in _IGNORED_FOR_LOCAL]
    return (for_template(chat) if ok else None), findings, fmt.value


def parsed_rows(path: Path) -> Iterator[tuple[int, Any, Finding | None]]:
    """``(line, value, finding)`` for every non-blank line (or array item) of a JSONL/JSON file."""
    probe = probe_file(path)
    if probe.fatal:
        whole_file = all(f.line is None for f in probe.findings)
        raise DatasetRejected(
            " ".join(f.message.rstrip(".") + "." for f in probe.findings),
            list(probe.findings),
            hint=FILE_HINT if whole_file else None,
        )
    if probe.array_items is not None:
        for index, item in enumerate(probe.array_items, start=1):
            yield index, item, None
        return
    for parsed in iter_lines(path):
        if parsed.finding is not None and parsed.finding.code == "blank_line":
            continue
        yield parsed.line, parsed.value, parsed.finding


def load_conversations(path: str | Path) -> LoadedData:
    """Every example of ``path`` as a conversational record; ``DatasetRejected`` on any bad row."""
    file = Path(path)
    loaded = LoadedData([], file)
    errors: list[Finding] = []
    for line, value, finding in parsed_rows(file):
        if finding is not None:
            errors.append(finding)
            continue
        record, findings, fmt = _check(value, line)
        loaded.formats[fmt] = loaded.formats.get(fmt, 0) + 1
        bad = [f for f in findings if f.level is Severity.ERROR]
        loaded.warnings += len(findings) - len(bad)
        errors.extend(bad)
        if record is not None and not bad:
            loaded.records.append(record)
            loaded.lines.append(line)
            loaded.with_tools += "tools" in record
    if errors:
        lines = sorted({f.line for f in errors if f.line is not None})
        shown = "; ".join(
            f"line {f.line}: {f.message}" if f.line else f.message for f in errors[:SHOWN_PROBLEMS]
        )
        more = f" (and {len(errors) - SHOWN_PROBLEMS} more)" if len(errors) > SHOWN_PROBLEMS else ""
        count = f"{len(lines)} bad row{'s' if len(lines) != 1 else ''}" if lines else "a bad file"
        raise DatasetRejected(f"{file.name} has {count}: {shown}{more}.", errors)
    if not loaded.records:
        raise DatasetRejected(f"{file.name} has no examples to train on.")
    return loaded


def split_validation(records: list[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """Hold out ``fraction`` of the records (at least one, when asked) for validation."""
    if fraction <= 0 or len(records) < 2:
        return records, []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    held = max(1, round(len(records) * fraction))
    held_set = set(order[:held])
    train = [r for i, r in enumerate(records) if i not in held_set]
    valid = [r for i, r in enumerate(records) if i in held_set]
    return train, valid
