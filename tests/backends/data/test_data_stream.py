"""Streaming: bounded memory, parallel chunks equal one pass, progress, cancel."""

from __future__ import annotations

import random
import threading
import tracemalloc
from pathlib import Path

import orjson
import pytest

from backends.data import InspectOptions, inspect_file, scan_plan
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
    monkeypatch.setattr(scan_plan, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_plan, "CHUNK_BYTES", 256 * 1024)
    monkeypatch.setattr(scan_plan, "MIN_CHUNK_BYTES", 256 * 1024)
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
    monkeypatch.setattr(scan_plan, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_plan, "SPAWN_MIN_BYTES", 1)
    monkeypatch.setattr(scan_plan, "CHUNK_BYTES", 512 * 1024)
    monkeypatch.setattr(scan_plan, "MIN_CHUNK_BYTES", 512 * 1024)
    path = make_file(tmp_path / "data.jsonl", 1500)
    single = inspect_file(path, InspectOptions(workers=1))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        context = scan_module._process_context(scan_module.ScanOptions("cl100k_base"))
        assert context.get_start_method() == "spawn"
        assert scan_plan.plan_workers(path.stat().st_size, 2) == 2
        parallel = inspect_file(path, InspectOptions(workers=2))
    finally:
        stop.set()
    assert list(parallel.token_counts) == list(single.token_counts)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_reaches_the_end(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(scan_plan, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_plan, "CHUNK_BYTES", 512 * 1024)
    monkeypatch.setattr(scan_plan, "MIN_CHUNK_BYTES", 512 * 1024)
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
    monkeypatch.setattr(scan_plan, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(scan_plan, "CHUNK_BYTES", 256 * 1024)
    monkeypatch.setattr(scan_plan, "MIN_CHUNK_BYTES", 256 * 1024)
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


def write_messy_file(path: Path) -> Path:
    """Every kind of line the scanner meets, twice over, around clean chats: a BOM, CRLF
    endings, blank lines, bad JSON, bad UTF-8, a non-object, tool calls, names, other
    formats, a duplicate, an example over gpt-3.5-turbo's 16,385 tokens, a line longer
    than a read block, a line over the line cap, and a cut-off last line."""
    clean = make_file(path.with_name("clean.jsonl"), 400, seed=3).read_bytes().splitlines()
    odd = [
        b"",
        b'{"messages": [oops',
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}',
        b"[1, 2, 3]",
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": "Weather?"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
                    {"role": "assistant", "content": "Sunny in Oslo."},
                ],
                "tools": [{"type": "function", "function": {"name": "weather"}}],
            }
        ),
        orjson.dumps(
            {
                "messages": [
                    {"role": "user", "content": "Hi", "name": "ann"},
                    {"role": "assistant", "content": "Hello"},
                ]
            }
        ),
        orjson.dumps({"prompt": "Two and two?", "completion": "Four."}),
        orjson.dumps({"messages": [{"role": "user", "content": "No reply"}]}),
        orjson.dumps(chat_of("spoke " * 20_000, "ok")),
        orjson.dumps(chat_of("wheel " * 60_000, "long line")),
        orjson.dumps(chat_of("gear " * 250_000, "over the cap")),
        clean[5],
    ]
    lines = [b"\xef\xbb\xbf" + clean[0]]
    for i, line in enumerate(clean[1:], start=1):
        lines.append(line + (b"\r" if i % 7 == 0 else b""))
        if i % 37 == 0:
            lines.append(odd[(i // 37) % len(odd)])
    lines.extend(odd)
    path.write_bytes(b"\n".join(lines) + b'\n{"messages": [{"role": "user", "content": "cut')
    return path


def chat_of(question: str, answer: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": "You fix bikes."},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def _figures(report) -> dict:
    data = {k: v for k, v in report.to_dict().items() if k != "elapsed_s"}
    data["arrays"] = [
        list(report.token_counts),
        list(report.assistant_counts),
        list(report.message_counts),
        list(report.example_lines),
        list(report.example_offsets),
    ]
    return data


def test_the_line_loop_and_check_values_agree_on_every_kind_of_line(tmp_path, monkeypatch):
    """``scan_chunk`` records passing lines itself; ``check_values`` is the reference."""
    from backends.data import reader
    from backends.data.findings import FindingCollector

    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1_000_000)
    path = write_messy_file(tmp_path / "messy.jsonl")
    options = scan_module.ScanOptions("cl100k_base", context_limit=16_385)
    size = path.stat().st_size
    fast = scan_module.scan_chunk(str(path), 0, size, options)
    reference = scan_module.check_values(
        reader.iter_lines(path),
        options,
        scan_module.ChunkResult(findings=FindingCollector(options.keep)),
        scan_module.counter_for(options),
    )
    for name in ("lines", "bytes", "formats", "objects", "images", "approximate"):
        assert getattr(fast, name) == getattr(reference, name), name
    for name in ("totals", "assistants", "messages", "example_lines", "offsets", "digests"):
        assert list(getattr(fast, name)) == list(getattr(reference, name)), name
    assert fast.findings.sorted_groups() == reference.findings.sorted_groups()
    assert {g.code for g in fast.findings.sorted_groups()} == {
        "blank_line",
        "example_missing_assistant_message",
        "invalid_json",
        "invalid_utf8",
        "line_too_long",
        "missing_system_message",
        "not_an_object",
        "over_context_limit",
    }
    assert set(fast.formats) == {"chat", "prompt_completion"}


def test_lines_are_read_as_readline_reads_them(tmp_path, monkeypatch):
    """Block reading gives each line's offset, bytes and number as a readline per line would."""
    from backends.data import reader

    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1_000_000)
    path = write_messy_file(tmp_path / "messy.jsonl")
    expected = []
    with open(path, "rb") as handle:
        offset = 0
        for number, raw in enumerate(iter(handle.readline, b""), start=1):
            too_long = len(raw) > 1_000_000
            kept = len(raw.rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf"))
            expected.append((number, offset, len(raw) if too_long else kept, too_long))
            offset += len(raw)
    got = [
        (p.line, p.offset, p.size, p.finding is not None and p.finding.code == "line_too_long")
        for p in reader.iter_lines(path)
    ]
    assert got == expected
    middle = expected[len(expected) // 2][1]
    tail = list(reader.iter_lines(path, middle))
    assert tail[0].offset == middle and tail[0].line == 1


@pytest.mark.parametrize("workers", [2, 3])
def test_serial_and_parallel_reports_are_identical(tmp_path, monkeypatch, workers):
    """The same messy file, scanned by this process alone and with forked workers."""
    from backends.data import reader

    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1_000_000)
    path = write_messy_file(tmp_path / "messy.jsonl")
    size = path.stat().st_size
    monkeypatch.setattr(scan_plan, "PARALLEL_MIN_BYTES", size // 2)
    monkeypatch.setattr(scan_plan, "MIN_CHUNK_BYTES", 64 * 1024)
    monkeypatch.setattr(scan_plan, "CHUNK_BYTES", 128 * 1024)
    # Workers even where this test process has other threads (then spawned, not forked).
    monkeypatch.setattr(scan_plan, "SPAWN_MIN_BYTES", 0)
    options = InspectOptions(model="gpt-3.5-turbo", workers=workers)
    assert scan_plan.plan_workers(size, workers) == workers
    assert len(reader.chunk_bounds(path, scan_plan.chunk_size(size, workers))) > 2 * workers
    serial = inspect_file(path, InspectOptions(model="gpt-3.5-turbo", workers=1))
    parallel = inspect_file(path, options)
    assert _figures(parallel) == _figures(serial)
    assert serial.valid_examples > 400 and serial.errors


def test_workers_are_planned_by_size(monkeypatch):
    monkeypatch.setattr(scan_plan, "busy_elsewhere", lambda: 0.0)
    # As in the command (one thread, so forked workers): a thread another test left
    # running in this test process would otherwise raise the floor to the spawn one.
    monkeypatch.setattr(scan_plan, "can_fork", lambda: True)
    floor = scan_plan.PARALLEL_MIN_BYTES
    plan = scan_plan.plan_workers
    assert plan(floor - 1, 8) == 1  # small: this process alone, no pool
    assert plan(floor, 8) == min(8, floor // scan_plan.MIN_CHUNK_BYTES)
    assert plan(10 * floor, 1) == 1
    assert plan(10 * floor, 2) == 2
    assert plan(10 * floor, None) == scan_plan.available_cpus()


@pytest.mark.parametrize(
    ("cpus", "looks", "free"),
    [
        (2, [1, 1, 1, 1, 1], 2),  # an idle machine: the only task running is this one
        (2, [2, 1, 3, 2, 2], 2),  # a task passing by is not load
        (2, [2, 2, 2, 2, 2], 1),  # one more busy CPU: nothing left for a worker
        (2, [6, 5, 5, 7, 5], 1),  # busy with other work: this process alone
        (8, [4, 4, 5, 4, 4], 5),
    ],
)
def test_default_workers_follow_what_runs_now(monkeypatch, cpus, looks, free):
    """Workers on CPUs that other work keeps busy would only add their cost."""
    counts = iter(looks)
    monkeypatch.setattr(scan_plan, "available_cpus", lambda: cpus)
    monkeypatch.setattr(scan_plan, "runnable_now", lambda: next(counts))
    assert scan_plan.free_cpus() == free
    counts = iter(looks)
    size = 64 * scan_plan.PARALLEL_MIN_BYTES
    assert scan_plan.plan_workers(size, None) == free
    assert scan_plan.plan_workers(size, cpus) == cpus  # --workers is obeyed


@pytest.mark.parametrize(
    ("cpus", "load", "free"),
    [(2, 0.0, 2), (2, 1.0, 2), (2, 2.0, 1), (2, 4.5, 1), (8, 3.0, 6)],
)
def test_without_proc_the_load_average_less_this_process_decides(monkeypatch, cpus, load, free):
    """Where the kernel does not say what runs now (macOS), the 1-minute average, which
    counts this process's own work."""
    monkeypatch.setattr(scan_plan, "available_cpus", lambda: cpus)
    monkeypatch.setattr(scan_plan, "runnable_now", lambda: None)
    monkeypatch.setattr(scan_plan.os, "getloadavg", lambda: (load, load, load))
    assert scan_plan.free_cpus() == free


@pytest.mark.skipif(not Path("/proc/loadavg").exists(), reason="Linux only: /proc/loadavg")
def test_real_busy_processes_leave_the_scan_alone(monkeypatch):
    """As many processes spinning as there are CPUs: no worker would get a CPU of its own."""
    import subprocess
    import sys

    from tests.support.helpers import PATIENCE_S

    cpus = min(4, scan_plan.available_cpus())
    monkeypatch.setattr(scan_plan, "available_cpus", lambda: cpus)
    spin = "print('spinning', flush=True)\nwhile True: pass"
    hogs = [
        subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
        for _ in range(cpus)
    ]
    try:
        for hog in hogs:
            assert hog.stdout is not None and hog.stdout.readline() == "spinning\n"
        assert scan_plan.free_cpus() == 1
        assert scan_plan.plan_workers(64 * scan_plan.PARALLEL_MIN_BYTES, None) == 1
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(timeout=PATIENCE_S)


def test_workers_are_spawned_only_for_bigger_files(monkeypatch):
    """With threads running (the UI), workers are spawned: each re-imports the scanner, so
    a file needs to be bigger before they pay."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert scan_plan.plan_workers(scan_plan.PARALLEL_MIN_BYTES, 2) == 1
        assert scan_plan.plan_workers(scan_plan.SPAWN_MIN_BYTES, 2) == 2
    finally:
        stop.set()
        other.join()


def test_a_small_file_starts_no_pool(tmp_path):
    """Inspecting a small file imports neither multiprocessing nor numpy."""
    import subprocess
    import sys

    path = make_file(tmp_path / "small.jsonl", 200)
    code = (
        "import sys\n"
        "from backends.data import InspectOptions, inspect_file\n"
        f"report = inspect_file({str(path)!r}, InspectOptions(model='gpt-3.5-turbo'))\n"
        "assert report.valid_examples == 200, report.valid_examples\n"
        "print(sorted(m for m in ('multiprocessing', 'concurrent.futures.process', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
