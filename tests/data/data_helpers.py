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
