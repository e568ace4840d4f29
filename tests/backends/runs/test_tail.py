"""Tails read only appended bytes and never hand out half a line."""

from __future__ import annotations

import os
from pathlib import Path

from backends.runs.tail import (
    JsonlTail,
    MetricsTail,
    TextTail,
    iter_records_backwards,
    last_lines,
    last_record,
)


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.read_points() == []  # no file yet
    append(path, b'{"step": 1, "train_loss": 1.5}\n{"step": 2, "tra')
    assert [p.step for p in tail.read_points()] == [1]
    assert tail.read_points() == []
    append(path, b'in_loss": 1.2}\n')
    assert [(p.step, p.train_loss) for p in tail.read_points()] == [(2, 1.2)]
    assert tail.offset == path.stat().st_size


def test_reads_start_at_the_remembered_offset(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append(path, b"".join(b'{"step": %d}\n' % i for i in range(1000)))
    tail = JsonlTail(path)
    assert len(tail.read()) == 1000
    # Garble the old bytes in place: a tail that re-read them would choke or return them.
    with open(path, "r+b") as handle:
        handle.write(b"X" * 100)
    append(path, b'{"step": 1000}\n')
    assert tail.read() == [{"step": 1000}]
    assert tail.bad_lines == 0


def test_bad_lines_are_counted_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    append(path, b'{"step": 1}\nnot json\n[1, 2]\n\n{"step": 2}\n')
    tail = JsonlTail(path)
    assert tail.read() == [{"step": 1}, {"step": 2}]
    assert tail.bad_lines == 2


def test_replaced_or_truncated_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    append(path, b"one\ntwo\n")
    tail = TextTail(path)
    assert tail.read_text_lines() == ["one", "two"]
    replacement = tmp_path / "new.txt"
    replacement.write_bytes(b"fresh\n")
    os.replace(replacement, path)
    assert tail.read_text_lines() == ["fresh"] and tail.resets == 1
    path.write_bytes(b"")
    append(path, b"x\r\n")
    assert tail.read_text_lines() == ["x"]


def test_last_lines_and_last_record_read_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("".join(f"line {i}\n" for i in range(5000)) + "partial")
    assert last_lines(log, 3) == ["line 4997", "line 4998", "line 4999"]
    assert last_lines(log, 2, max_bytes=30) == ["line 4998", "line 4999"]
    metrics = tmp_path / "m.jsonl"
    assert last_record(metrics) is None
    metrics.write_bytes(b"".join(b'{"step": %d}\n' % i for i in range(3000)) + b'{"step": 30')
    assert last_record(metrics) == {"step": 2999}


def test_backwards_iteration_crosses_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(
        b"".join(b'{"step": %d, "pad": "%s"}\n' % (i, b"x" * (i % 37)) for i in range(500))
    )
    steps = [r["step"] for r in iter_records_backwards(path, chunk=64)]
    assert steps == list(range(499, -1, -1))
    path.write_bytes(b'{"step": 0}\n' + b"y" * 500)  # a long unfinished last line
    assert [r["step"] for r in iter_records_backwards(path, chunk=64)] == [0]
