"""Bad input of every kind: all findings, no crash, bounded output, quick."""

from __future__ import annotations

import json

import orjson
import pytest

from backends.data import InspectOptions, inspect_file
from tests.support.data_files import codes, good_chats
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
    {
        "messages": [
            {"role": "user", "content": "q", "colour": "red"},
            {"role": "assistant", "content": "a"},
        ]
    },
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 42}]},
    {"messages": [{"role": "user", "content": "q"}]},
    {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "weight": 2},
        ]
    },
    {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "tool", "tool_call_id": "x", "content": "r"},
            {"role": "assistant", "content": "a"},
        ]
    },
    {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]},
    {"prompt": "p", "completion": "c"},
    {"text": "unknown"},
    b'{"messages": [{"role": "user", "content": "\\ud800"}]}',  # lone surrogate escape
]
EXPECTED = {
    "blank_line",
    "invalid_json",
    "invalid_utf8",
    "not_an_object",
    "missing_messages_list",
    "message_missing_key",
    "unrecognized_role",
    "message_unrecognized_key",
    "missing_content",
    "data_type",
    "example_missing_assistant_message",
    "invalid_weight",
    "tool_call_id_mismatch",
    "empty_content",
    "mixed_formats",
    "unknown_format",
    "duplicate_example",
    "too_few_examples",
}


def test_every_kind_of_broken_line(write):
    path = write([*good_chats(3), *EVERY_BROKEN_LINE, good_chats(1)[0], *good_chats(2, 3)])
    report = inspect_file(path, InspectOptions(workers=1))
    assert codes(report) >= EXPECTED, EXPECTED - codes(report)
    assert report.lines == 3 + len(EVERY_BROKEN_LINE) + 3
    assert not report.ok


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\n\n",
        b"\x00\x01\x02binary",
        b"\xff\xfe{\x00}\x00",
        b'{"messages": [',
        b"[1, 2, 3]",
        b"\xef\xbb\xbf",
    ],
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
            handle.write(
                b'{"messages": [{"role": "user", "content": "x"' + (b"}]}\n" if i % 2 else b"\n")
            )
    report = inspect_file(path, InspectOptions(workers=1, keep=20))
    invalid = next(g for g in report.findings if g.code == "invalid_json")
    assert invalid.count == 25_000 and len(invalid.samples) == 20
    assert [f.line for f in invalid.samples[:3]] == [1, 3, 5]
    assert len(json.dumps(report.to_dict())) < 100_000


def test_a_2mb_line_of_one_character(tmp_path):
    path = tmp_path / "one_char.jsonl"
    huge = {
        "messages": [
            {"role": "user", "content": "a" * 2_000_000},
            {"role": "assistant", "content": "ok"},
        ]
    }
    rows = [*good_chats(11), huge]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    report = inspect_file(path, InspectOptions(workers=1))
    assert report.tokens.max > 65_536 and report.over_limit == 1
    assert "over_context_limit" in codes(report)


def test_random_structures_never_crash_the_checks():
    """Fuzz: random JSON shaped like every format goes through the checks without an exception."""
    import random

    from backends.data.chat_checks import ChatRules
    from backends.data.example_checks import check_example
    from backends.data.formats import detect_format
    from backends.data.tokenizer import TokenCounter

    counter = TokenCounter.for_encoding("cl100k_base", allow_download=False)
    rng = random.Random(1)
    atoms = [
        None,
        True,
        0,
        1,
        2,
        0.5,
        "",
        "x",
        "user",
        "assistant",
        "tool",
        "system",
        "function",
        "text",
        "image_url",
        [],
        {},
    ]
    keys = [
        "role",
        "content",
        "name",
        "weight",
        "tool_calls",
        "tool_call_id",
        "function_call",
        "type",
        "text",
        "image_url",
        "url",
        "id",
        "function",
        "arguments",
        "messages",
        "tools",
        "functions",
        "input",
        "preferred_output",
        "non_preferred_output",
        "prompt",
        "completion",
        "instruction",
        "output",
        "conversations",
        "from",
        "value",
        "system",
    ]

    def value(depth: int = 0):
        roll = rng.random()
        if depth > 4 or roll < 0.4:
            return rng.choice(atoms)
        if roll < 0.7:
            return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    for _ in range(20_000):
        example = {rng.choice(keys): value() for _ in range(rng.randint(1, 4))}
        for local in (False, True):
            check_example(example, detect_format(example), 1, counter, ChatRules(local=local), [])


def test_a_failing_check_costs_one_line(write, monkeypatch):
    import backends.data.scan as scan_module

    real = scan_module.check_example

    def flaky(example, fmt, line, *args):
        if line == 12:
            raise KeyError("surprise")
        return real(example, fmt, line, *args)

    monkeypatch.setattr(scan_module, "check_example", flaky)
    report = inspect_file(write(good_chats(60)), InspectOptions(workers=1))
    found = next(g for g in report.findings if g.code == "check_failed")
    assert found.samples[0].line == 12 and "surprise" in found.samples[0].message
    assert report.valid_examples == 59
