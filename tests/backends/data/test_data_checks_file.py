"""Checks on reading a file and on its format, each triggered by a real file on disk."""

from __future__ import annotations

import builtins

import pytest

from backends.catalog import Provider
from backends.data import Severity
from backends.data import inspector as inspector_module
from backends.data import reader as reader_module
from tests.support.data_files import chat, codes, expect, good_chats, msg, run

# --- reading the file ------------------------------------------------------------


def test_missing_file(tmp_path):
    report = run(tmp_path / "nope.jsonl")
    expect(report, "missing_file", severity=Severity.ERROR)
    assert not report.ok


def test_not_a_file(tmp_path):
    expect(run(tmp_path), "not_a_file")


def test_unreadable_file(write, monkeypatch):
    path = write(good_chats(12))
    real_open = builtins.open

    def refuse(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(reader_module, "open", refuse, raising=False)
    sample = expect(run(path), "unreadable_file")
    assert "Permission denied" in sample.message


def test_empty_file(write):
    expect(run(write([])), "empty_file")


def test_binary_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)) * 10)
    sample = expect(run(path), "binary_file")
    assert "offset 4" in sample.message


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"messages": [1, 2,]}', "trailing comma"),
        (b'{"messages": NaN}', "column 14"),
        (b'{"messages": [' * 2000 + b"]" * 2000 + b"}", "depth"),
        (b"{'messages': []}", "column 2"),
    ],
)
def test_invalid_json_gives_the_parser_message(write, line, words):
    report = run(write([*good_chats(5), line, *good_chats(5, 5)]))
    sample = expect(report, "invalid_json", line=6)
    assert words in sample.message


def test_truncated_last_line_is_named(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"\n".join(orjson_lines(good_chats(11))) + b'\n{"messages": [{"role": "us')
    sample = expect(run(path), "invalid_json", line=12)
    assert "truncated" in sample.message


def orjson_lines(rows):
    import orjson

    return [orjson.dumps(r) for r in rows]


def test_invalid_utf8_gives_line_and_byte_offset(write):
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'
    path = write([*good_chats(3), bad])
    sample = expect(run(path), "invalid_utf8", line=4)
    assert "0xe9" in sample.message
    assert "column 47" in sample.message
    offset = path.read_bytes().index(b"\xe9")
    assert f"file offset {offset}" in sample.message


def test_utf16_file_is_named(tmp_path):
    path = tmp_path / "utf16.jsonl"
    path.write_bytes('{"messages": []}\n'.encode("utf-16"))
    assert "UTF-16" in expect(run(path), "invalid_utf8").message


def test_line_too_long(write, monkeypatch):
    monkeypatch.setattr(reader_module, "MAX_LINE_BYTES", 1000)
    long_line = chat("x" * 5000, "ok")
    report = run(write([*good_chats(11), long_line, *good_chats(2, 20)]))
    expect(report, "line_too_long", line=12)
    assert report.lines == 14


def test_bom_is_noted_and_accepted(write):
    report = run(write(good_chats(60), bom=True))
    expect(report, "bom", line=1, severity=Severity.INFO)
    assert report.ok and report.valid_examples == 60


def test_bom_on_azure_and_missing_bom(write):
    with_bom = run(
        write(good_chats(60), "a.jsonl", bom=True), provider=Provider.AZURE, model="gpt-4o-mini"
    )
    assert "Azure" in expect(with_bom, "bom").message
    assert "missing_bom" not in codes(with_bom)
    without = run(write(good_chats(60), "b.jsonl"), provider=Provider.AZURE, model="gpt-4o-mini")
    expect(without, "missing_bom", severity=Severity.WARNING)
    assert without.ok  # a warning, not an error


def test_blank_line(write):
    expect(run(write([*good_chats(11), "", "   ", *good_chats(1, 50)])), "blank_line", line=12)


def test_not_an_object(write):
    sample = expect(run(write([*good_chats(11), '["a", "list"]', "42"])), "not_an_object", line=12)
    assert "array" in sample.message


def test_json_array_file_small_is_checked_item_by_item(tmp_path):
    import orjson

    path = tmp_path / "array.json"
    path.write_bytes(orjson.dumps([*good_chats(11), {"messages": []}], option=orjson.OPT_INDENT_2))
    report = run(path)
    expect(report, "json_array_file")
    expect(report, "missing_messages_list", line=12)
    assert report.valid_examples == 11


def test_json_array_file_broken(tmp_path):
    path = tmp_path / "broken_array.json"
    path.write_bytes(b'[\n  {"messages": []},\n  {"messages": [}\n')
    sample = expect(run(path), "json_array_file")
    assert "not valid JSON" in sample.message


def test_file_too_large(write, monkeypatch):
    monkeypatch.setattr(inspector_module, "HOSTED_FILE_LIMIT_BYTES", 100)
    path = write(good_chats(12))
    expect(run(path), "file_too_large")
    assert "file_too_large" not in codes(run(path, provider=Provider.LOCAL, model="some/model"))


# --- formats -----------------------------------------------------------------------


def test_mixed_formats(write):
    rows = [
        *good_chats(11),
        {"prompt": "p", "completion": "c"},
        {"instruction": "i", "output": "o"},
    ]
    report = run(write(rows))
    assert report.format == "chat"
    sample = expect(report, "mixed_formats", line=12)
    assert "prompt/completion" in sample.message


@pytest.mark.parametrize(
    ("rows", "model", "words"),
    [
        (
            [{"prompt": f"p{i}", "completion": f" c{i}"} for i in range(12)],
            "gpt-4o-mini",
            "chat examples",
        ),
        (good_chats(12), "davinci-002", "prompt/completion examples only"),
        (
            [{"instruction": f"i{i}", "input": "", "output": f"o{i}"} for i in range(12)],
            "gpt-4o-mini",
            "Alpaca",
        ),
        (
            [
                {
                    "conversations": [
                        {"from": "human", "value": f"q{i}"},
                        {"from": "gpt", "value": "a"},
                    ]
                }
                for i in range(12)
            ],
            "gpt-4.1",
            "ShareGPT",
        ),
        (
            [
                {
                    "input": {"messages": [msg("user", f"q{i}")]},
                    "preferred_output": [msg("assistant", "good")],
                    "non_preferred_output": [msg("assistant", "bad")],
                }
                for i in range(12)
            ],
            "gpt-3.5-turbo",
            "DPO",
        ),
    ],
)
def test_unsupported_format(write, rows, model, words):
    sample = expect(run(write(rows), model=model), "unsupported_format")
    assert words in sample.message


def test_prompt_completion_is_fine_on_davinci(write):
    rows = [{"prompt": f"Say {i}", "completion": f" {i}"} for i in range(60)]
    report = run(write(rows), model="davinci-002")
    assert report.ok, report.findings
    assert [c.alias for c in report.costs] == ["davinci-002", "babbage-002"]


def test_unknown_format(write):
    expect(run(write([*good_chats(11), {"text": "hello"}])), "unknown_format", line=12)
