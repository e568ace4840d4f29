"""Streaming: bounded memory, parallel chunks equal one pass, progress, cancel."""

from __future__ import annotations

import random
import threading
import tracemalloc
from pathlib import Path

import orjson
import pytest

from backends.data import InspectOptions, inspect_file
from backends.data import scan as scan_module

WORDS = [
    "brake",
    "chain",
    "spoke",
    "wheel",
    "tyre",
    "gear",
    "cable",
    "pedal",
    "saddle",
    "frame",
    "fork",
    "hub",
    "rim",
    "valve",
    "lever",
]


def make_file(path: Path, examples: int, seed: int = 0, broken_every: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "wb") as handle:
        for i in range(examples):
            if broken_every and i % broken_every == broken_every - 1:
                handle.write(b'{"messages": [oops\n')
                continue
            turns = [{"role": "system", "content": "You fix bikes."}]
            for _ in range(rng.choice((1, 2, 3))):
                turns.append(
                    {"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(5, 60)))}
                )
                turns.append(
                    {
                        "role": "assistant",
                        "content": " ".join(rng.choices(WORDS, k=rng.randint(5, 120))),
                    }
                )
            handle.write(orjson.dumps({"messages": turns}) + b"\n")
    return path


def test_memory_does_not_grow_with_the_file(tmp_path):
    path = make_file(tmp_path / "big.jsonl", 6000)
    size = path.stat().st_size
    assert size > 4 * 2**20
    inspect_file(path, InspectOptions(workers=1))  # load the tokenizer outside the measurement
    tracemalloc.start()
    try:
        report = inspect_file(path, InspectOptions(workers=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.valid_examples == 6000
    # The file is never held whole: what stays is a few bytes per example.
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_parallel_chunks_give_the_same_report(tmp_path, monkeypatch):
    path = make_file(tmp_path / "data.jsonl", 3000, broken_every=97)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 256 * 1024)
    duplicate = path.read_bytes().splitlines()[5] + b"\n"
    with open(path, "ab") as handle:
        handle.write(duplicate)
    one = inspect_file(path, InspectOptions(workers=1))
    two = inspect_file(path, InspectOptions(workers=2))
    assert list(one.token_counts) == list(two.token_counts)
    assert list(one.example_lines) == list(two.example_lines)
    assert list(one.example_offsets) == list(two.example_offsets)
    strip = ("elapsed_s",)
    a = {k: v for k, v in one.to_dict().items() if k not in strip}
    b = {k: v for k, v in two.to_dict().items() if k not in strip}
    assert a == b
    dup = next(g for g in two.findings if g.code == "duplicate_example")
    assert dup.samples[0].line == 3001 and "line 6" in dup.samples[0].message


def test_offsets_point_at_the_examples(tmp_path):
    from backends.data.reader import read_example_at

    path = make_file(tmp_path / "data.jsonl", 50)
    report = inspect_file(path, InspectOptions(workers=1))
    lines = path.read_bytes().splitlines()
    assert read_example_at(path, report.example_offsets[17]) == orjson.loads(lines[17])
    assert report.example_lines[17] == 18


def test_spawned_workers_when_threads_are_running(tmp_path, monkeypatch):
    """The UI scans from a thread: workers are spawned, not forked, and give the same figures."""
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 512 * 1024)
    path = make_file(tmp_path / "data.jsonl", 1500)
    single = inspect_file(path, InspectOptions(workers=1))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        context = scan_module._process_context(scan_module.ScanOptions("cl100k_base"))
        assert context.get_start_method() == "spawn"
        parallel = inspect_file(path, InspectOptions(workers=2))
    finally:
        stop.set()
    assert list(parallel.token_counts) == list(single.token_counts)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_reaches_the_end(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 512 * 1024)
    path = make_file(tmp_path / "data.jsonl", 3000)
    seen: list[tuple[int, int]] = []
    inspect_file(
        path,
        InspectOptions(workers=workers),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen and seen[-1][0] == seen[-1][1] == path.stat().st_size
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_stops_and_says_so(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 256 * 1024)
    path = make_file(tmp_path / "data.jsonl", 4000)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        cancel.set()

    report = inspect_file(path, InspectOptions(workers=workers), progress=progress, cancel=cancel)
    assert report.cancelled and not report.ok
    assert report.valid_examples < 4000
    assert "too_few_examples" not in {g.code for g in report.findings}


@pytest.mark.parametrize("numpy_from", [1, 100_000], ids=["numpy", "dict"])
def test_find_duplicates_points_at_the_first_occurrence(
    numpy_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from array import array

    from backends.data import scan
    from backends.data.scan import find_duplicates

    monkeypatch.setattr(scan, "NUMPY_DUPLICATES_FROM", numpy_from)
    digests = b"".join(bytes([k]) * 8 for k in (1, 2, 1, 3, 1, 2))
    lines = array("I", [10, 20, 30, 40, 50, 60])
    assert find_duplicates(digests, lines) == [(30, 10), (50, 10), (60, 20)]
    assert find_duplicates(b"", array("I")) == []
