"""Bad input of every kind: all findings, no crash, bounded output, quick."""

from __future__ import annotations

import json
import time

import orjson
import pytest
from data_helpers import codes, good_chats

from backends.data import InspectOptions, inspect_file
from tui.cli import main

EVERY_BROKEN_LINE = [
    "",  # blank
    "{oops",  # invalid JSON
    b'{"messages": [{"role": "user", "content": "\xff"}]}',  # invalid UTF-8
    '"just a string"',  # not an object
    '{"messages": [1, 2,]}',  # trailing comma
    '{"messages": NaN}',  # NaN literal
    "[" * 5000 + "]" * 5000,  # deeply nested
    {"messages": "nope"},
    {"messages": [{"content": "no role"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q", "colour": "red"}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 42}]},
    {"messages": [{"role": "user", "content": "q"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 2}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "x", "content": "r"},
                  {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]},
    {"prompt": "p", "completion": "c"},
    {"text": "unknown"},
    b'{"messages": [{"role": "user", "content": "\\ud800"}]}',  # lone surrogate escape
]
EXPECTED = {
    "blank_line", "invalid_json", "invalid_utf8", "not_an_object", "missing_messages_list", "message_missing_key",
    "unrecognized_role", "message_unrecognized_key", "missing_content", "data_type",
    "example_missing_assistant_message", "invalid_weight", "tool_call_id_mismatch", "empty_content",
    "mixed_formats", "unknown_format", "duplicate_example", "too_few_examples",
}


def test_every_kind_of_broken_line(write):
    path = write([*good_chats(3), *EVERY_BROKEN_LINE, good_chats(1)[0], *good_chats(2, 3)])
    report = inspect_file(path, InspectOptions(workers=1))
    assert codes(report) >= EXPECTED, EXPECTED - codes(report)
    assert report.lines == 3 + len(EVERY_BROKEN_LINE) + 3
    assert not report.ok


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n\n", b"\x00\x01\x02binary", b"\xff\xfe{\x00}\x00", b'{"messages": [', b"[1, 2, 3]", b"\xef\xbb\xbf"],
    ids=["empty", "only-newlines", "binary", "utf16", "truncated", "array-of-numbers", "only-bom"],
)
def test_cli_never_tracebacks(tmp_path, capsys, content):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    code = main(["inspect", str(path), "--json", "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1
    data = json.loads(captured.out)
    assert data["errors"] and all(e["message"] for e in data["errors"])
    assert "Traceback" not in captured.err


def test_many_broken_lines_are_aggregated(tmp_path):
    path = tmp_path / "broken.jsonl"
    with open(path, "wb") as handle:
        for i in range(50_000):
            handle.write(b'{"messages": [{"role": "user", "content": "x"' + (b"}]}\n" if i % 2 else b"\n"))
    started = time.perf_counter()
    report = inspect_file(path, InspectOptions(workers=1, keep=20))
    assert time.perf_counter() - started < 4
    invalid = next(g for g in report.findings if g.code == "invalid_json")
    assert invalid.count == 25_000 and len(invalid.samples) == 20
    assert [f.line for f in invalid.samples[:3]] == [1, 3, 5]
    assert len(json.dumps(report.to_dict())) < 100_000


def test_a_2mb_line_of_one_character(tmp_path):
    path = tmp_path / "one_char.jsonl"
    huge = {"messages": [{"role": "user", "content": "a" * 2_000_000}, {"role": "assistant", "content": "ok"}]}
    rows = [*good_chats(11), huge]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    started = time.perf_counter()
    report = inspect_file(path, InspectOptions(workers=1))
    assert time.perf_counter() - started < 4
    assert report.tokens.max > 65_536 and report.over_limit == 1
    assert "over_context_limit" in codes(report)
