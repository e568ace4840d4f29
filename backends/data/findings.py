"""What the linter found: stable codes, severities, and a bounded collector.

Every finding carries a stable ``code`` (the Cookbook's names where it has
one, so people recognise them), a severity, the 1-based line number (``None``
for findings about the whole file), the field path inside the example, a
message saying what is wrong and a one-line fix.

A file with a million broken lines must not produce a million findings:
``FindingCollector`` keeps the count per code and only the first few
findings of each code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class CheckInfo:
    code: str
    severity: Severity
    title: str
    fix: str


def _c(code: str, severity: Severity, title: str, fix: str) -> CheckInfo:
    return CheckInfo(code, severity, title, fix)


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

CHECKS: dict[str, CheckInfo] = {
    c.code: c
    for c in (
        # --- reading the file --------------------------------------------
        _c("missing_file", _E, "File not found", "Check the path."),
        _c("not_a_file", _E, "Not a regular file", "Pass a .jsonl file, not a folder or device."),
        _c("unreadable_file", _E, "File cannot be read", "Check the file's permissions."),
        _c("empty_file", _E, "Empty file", "Write one JSON example per line."),
        _c(
            "binary_file",
            _E,
            "Binary file",
            "Pass a UTF-8 JSONL text file, not a binary or compressed file.",
        ),
        _c(
            "invalid_json",
            _E,
            "Invalid JSON",
            "Fix the JSON on this line (one complete JSON object per line).",
        ),
        _c(
            "invalid_utf8",
            _E,
            "Invalid UTF-8",
            "Re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8).",
        ),
        _c(
            "line_too_long",
            _E,
            "Line too long to read",
            "Split or shorten the example: lines over 64 MB are skipped.",
        ),
        _c("bom", _I, "Byte-order mark", "Nothing to do: the BOM is accepted."),
        _c(
            "missing_bom",
            _W,
            "No byte-order mark",
            "Azure's docs ask for UTF-8 with a BOM: re-save with a BOM (utf-8-sig) if the upload is refused.",
        ),
        _c("blank_line", _W, "Blank line", "Delete the blank line."),
        _c(
            "not_an_object",
            _E,
            "Line is not a JSON object",
            "Each line must be one JSON object {...}.",
        ),
        _c(
            "json_array_file",
            _E,
            "JSON array instead of JSONL",
            "Write one object per line, e.g. jq -c '.[]' in.json > out.jsonl.",
        ),
        _c(
            "file_too_large",
            _E,
            "File over the hosted limit",
            "Split the file: hosted services accept at most 512 MB per file.",
        ),
        # --- format --------------------------------------------------------
        _c(
            "mixed_formats",
            _E,
            "Mixed formats in one file",
            "Keep one format per file (convert the others to chat).",
        ),
        _c(
            "unsupported_format",
            _E,
            "Format not accepted by this model",
            "Convert to chat format (inspect --convert-to-chat OUT).",
        ),
        _c("unknown_format", _E, "Unrecognised example", 'Use chat format: {"messages": [...]}.'),
        # --- the Cookbook's checks, corrected for today's formats ----------
        _c("data_type", _E, "Wrong type", "Use the type the format expects for this field."),
        _c(
            "missing_messages_list",
            _E,
            "No messages list",
            'Put the conversation in a non-empty "messages" list.',
        ),
        _c(
            "message_missing_key", _E, "Message misses a key", "Add the missing key to the message."
        ),
        _c(
            "message_unrecognized_key",
            _E,
            "Unrecognised key in a message",
            "Remove the key or rename it to a documented one.",
        ),
        _c("unrecognized_role", _E, "Unrecognised role", "Use system, user, assistant or tool."),
        _c(
            "missing_content",
            _E,
            "Message without content",
            'Give the message a "content" (assistant messages may have tool_calls instead).',
        ),
        _c(
            "example_missing_assistant_message",
            _E,
            "No trained assistant message",
            "Add an assistant reply with weight 1 (or no weight).",
        ),
        # --- further checks ------------------------------------------------
        _c(
            "tool_call_id_mismatch",
            _E,
            "Tool call ids do not match",
            "Give each tool message the id of a tool call in the assistant message before it.",
        ),
        _c(
            "unanswered_tool_call",
            _W,
            "Tool call without a tool reply",
            "Add a tool message with the call's id before the next turn.",
        ),
        _c(
            "invalid_weight",
            _E,
            "Invalid weight",
            'Use "weight": 0 or 1, on assistant messages only.',
        ),
        _c(
            "weight_ignored",
            _I,
            "Weight ignored locally",
            "Nothing to do, or drop weight-0 turns from the example.",
        ),
        _c("empty_content", _W, "Empty content", "Write the text, or remove the message."),
        _c(
            "empty_preference_side",
            _E,
            "Empty side of a preference pair",
            "Write the prompt and both answers: an empty one teaches nothing.",
        ),
        _c(
            "identical_preference_pair",
            _W,
            "Chosen and rejected are the same",
            "Make the rejected answer the worse one, or remove the pair: it gives DPO no signal.",
        ),
        _c(
            "image_in_assistant",
            _E,
            "Image in an assistant message",
            "Images are accepted in user messages only.",
        ),
        _c(
            "duplicate_example",
            _W,
            "Duplicate example",
            "Remove the duplicate: it weighs that example twice.",
        ),
        _c(
            "over_context_limit",
            _W,
            "Example over the context limit",
            "Shorten the example: tokens past the limit are truncated.",
        ),
        _c(
            "tools_unrendered",
            _W,
            "Tool calls the model cannot render",
            "Pick a model whose chat template supports tools (Qwen2.5, Llama 3.1, Mistral…), "
            "or leave these examples out.",
        ),
        _c(
            "nothing_to_train",
            _E,
            "No example local training would keep",
            "Pick a model whose chat template supports tools, or add examples without tools.",
        ),
        _c(
            "too_few_examples",
            _E,
            "Fewer than 10 examples",
            "Add examples: hosted fine-tuning needs at least 10.",
        ),
        _c(
            "few_examples",
            _W,
            "Fewer than 50 examples",
            "Add examples: 50 to 100 good ones usually show a clear improvement.",
        ),
        _c(
            "missing_system_message",
            _I,
            "No system message",
            "Add the system prompt you will use in production, if any.",
        ),
        _c(
            "missing_user_message",
            _W,
            "No user message",
            "Add the user turn the assistant answers.",
        ),
        _c("developer_role", _W, "Developer role", "Use the system role in training files."),
        _c(
            "check_failed",
            _E,
            "Line could not be checked",
            "Check this line by hand, and report it to finetune-tui's developers.",
        ),
        _c(
            "images_not_counted",
            _I,
            "Images not counted",
            "Image tokens depend on size and detail; the figures count text only.",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    code: str
    line: int | None
    """1-based line number; ``None`` when it concerns the whole file."""
    message: str
    field: str = ""
    """Where in the example, e.g. ``messages[2].content``."""
    severity: Severity | None = None
    """Overrides the code's default severity (provider rules)."""

    @property
    def info(self) -> CheckInfo:
        return CHECKS[self.code]

    @property
    def level(self) -> Severity:
        return self.severity or CHECKS[self.code].severity

    @property
    def fix(self) -> str:
        return CHECKS[self.code].fix

    def where(self) -> str:
        """``line 12, messages[2].content`` (or ``file`` for whole-file findings)."""
        parts = [f"line {self.line}"] if self.line is not None else ["file"]
        if self.field:
            parts.append(self.field)
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.level.value,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }

    def shifted(self, lines: int) -> Finding:
        """The same finding, its line moved down by ``lines`` (merging chunks)."""
        if self.line is None or lines == 0:
            return self
        return Finding(self.code, self.line + lines, self.message, self.field, self.severity)


@dataclass
class FindingGroup:
    """All findings of one code: how many, and the first few in file order."""

    code: str
    severity: Severity
    count: int = 0
    samples: list[Finding] = field(default_factory=list)

    @property
    def info(self) -> CheckInfo:
        return CHECKS[self.code]

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "count": self.count,
            "title": self.info.title,
            "fix": self.info.fix,
            "lines": [f.line for f in self.samples if f.line is not None],
            "samples": [f.to_dict() for f in self.samples],
        }


class FindingCollector:
    """Counts every finding, keeps the first ``keep`` of each code (severity per code+level)."""

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self.groups: dict[tuple[str, Severity], FindingGroup] = {}

    def add(self, finding: Finding) -> None:
        key = (finding.code, finding.level)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = FindingGroup(finding.code, finding.level)
        group.count += 1
        if len(group.samples) < self.keep:
            group.samples.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def merge(self, other: FindingCollector, line_offset: int = 0) -> None:
        """Add ``other``'s groups (a later chunk of the file) after ours."""
        for key, theirs in other.groups.items():
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = FindingGroup(theirs.code, theirs.severity)
            room = self.keep - len(group.samples)
            if room > 0:
                group.samples.extend(f.shifted(line_offset) for f in theirs.samples[:room])
            group.count += theirs.count

    def count(self, severity: Severity) -> int:
        return sum(g.count for g in self.groups.values() if g.severity is severity)

    def has(self, code: str) -> bool:
        return any(g.code == code for g in self.groups.values())

    def sorted_groups(self) -> list[FindingGroup]:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

        def first_line(g: FindingGroup) -> int:
            lines = [f.line for f in g.samples if f.line is not None]
            return min(lines) if lines else 0

        return sorted(
            self.groups.values(), key=lambda g: (order[g.severity], first_line(g), g.code)
        )
