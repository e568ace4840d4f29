"""Helpers shared by the dataset-inspection tests (files written on disk)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

Line = str | bytes | dict | list


def encode_line(line: Line) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8")
    return orjson.dumps(line)


def write_jsonl(path: Path, lines: Iterable[Line], bom: bool = False) -> Path:
    data = b"".join(encode_line(line) + b"\n" for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def chat(*turns: str, system: str | None = "You are terse.") -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    roles = ("user", "assistant")
    messages += [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]
    return {"messages": messages}


def good_chats(n: int, start: int = 0) -> list[dict]:
    return [chat(f"Question number {i}?", f"Answer number {i}.") for i in range(start, start + n)]


def codes(report) -> set[str]:
    return {g.code for g in report.findings}


def group(report, code: str):
    matches = [g for g in report.findings if g.code == code]
    assert matches, f"no {code} in {sorted(codes(report))}"
    return matches[0]


def run(path: Path, **options) -> object:
    """Inspect ``path`` in one process (the checks, not the pool, are under test)."""
    from backends.data import InspectOptions, inspect_file

    return inspect_file(path, InspectOptions(workers=1, **options))


def expect(report, code: str, line: int | None = None, severity=None, field: str | None = None):
    """The first finding of ``code``, checked for line, severity and field where given."""
    found = group(report, code)
    if severity is not None:
        assert found.severity is severity
    sample = found.samples[0]
    if line is not None:
        assert sample.line == line, (code, sample)
    if field is not None:
        assert sample.field == field, (code, sample)
    assert sample.message and sample.fix
    return sample


def msg(role: str, content: object = "text", **extra) -> dict:
    return {"role": role, "content": content, **extra}


def chat_line(i: int) -> bytes:
    return (
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is {i} + {i}?"},
                    {"role": "assistant", "content": str(2 * i)},
                ]
            }
        )
        + b"\n"
    )
