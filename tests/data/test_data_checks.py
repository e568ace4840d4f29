"""Every check code, each triggered by a real file written on disk."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from data_helpers import chat, codes, good_chats, group

from backends.catalog import Provider
from backends.data import CHECKS, InspectOptions, Severity, inspect_file
from backends.data import inspector as inspector_module
from backends.data import reader as reader_module

COVERED: set[str] = set()


def run(path: Path, **options) -> object:
    return inspect_file(path, InspectOptions(workers=1, **options))


def expect(report, code: str, line: int | None = None, severity: Severity | None = None, field: str | None = None):
    COVERED.add(code)
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
    with_bom = run(write(good_chats(60), "a.jsonl", bom=True), provider=Provider.AZURE, model="gpt-4o-mini")
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
    rows = [*good_chats(11), {"prompt": "p", "completion": "c"}, {"instruction": "i", "output": "o"}]
    report = run(write(rows))
    assert report.format == "chat"
    sample = expect(report, "mixed_formats", line=12)
    assert "prompt/completion" in sample.message


@pytest.mark.parametrize(
    ("rows", "model", "words"),
    [
        ([{"prompt": f"p{i}", "completion": f" c{i}"} for i in range(12)], "gpt-4o-mini", "chat examples"),
        (good_chats(12), "davinci-002", "prompt/completion examples only"),
        ([{"instruction": f"i{i}", "input": "", "output": f"o{i}"} for i in range(12)], "gpt-4o-mini", "Alpaca"),
        (
            [{"conversations": [{"from": "human", "value": f"q{i}"}, {"from": "gpt", "value": "a"}]} for i in range(12)],
            "gpt-4.1",
            "ShareGPT",
        ),
        (
            [{"input": {"messages": [msg("user", f"q{i}")]}, "preferred_output": [msg("assistant", "good")],
              "non_preferred_output": [msg("assistant", "bad")]} for i in range(12)],
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


# --- the Cookbook's checks ------------------------------------------------------------


def test_data_type(write):
    rows = [*good_chats(11), {"messages": ["not a message", msg("user"), msg("assistant")]}]
    expect(run(write(rows)), "data_type", line=12, field="messages[0]")


def test_data_type_of_content(write):
    rows = [*good_chats(11), {"messages": [msg("user"), msg("assistant", 42)]}]
    expect(run(write(rows)), "data_type", line=12, field="messages[1].content")


def test_missing_messages_list(write):
    rows = [*good_chats(11), {"messages": []}, {"messages": "hi"}]
    expect(run(write(rows)), "missing_messages_list", line=12, field="messages")


def test_message_missing_key(write):
    rows = [*good_chats(11), {"messages": [{"content": "no role"}, msg("assistant")]}]
    expect(run(write(rows)), "message_missing_key", line=12, field="messages[0].role")


def test_message_unrecognized_key(write):
    rows = [*good_chats(11), {"messages": [msg("user"), msg("assistant", mood="happy")]}]
    report = run(write(rows))
    sample = expect(report, "message_unrecognized_key", line=12, severity=Severity.ERROR)
    assert "mood" in sample.message
    local = run(write(rows, "l.jsonl"), provider=Provider.LOCAL, model="org/model")
    expect(local, "message_unrecognized_key", severity=Severity.WARNING)


def test_unrecognized_role(write):
    rows = [*good_chats(11), {"messages": [msg("user"), msg("bot")]}]
    sample = expect(run(write(rows)), "unrecognized_role", line=12, field="messages[1].role")
    assert "'bot'" in sample.message


def test_missing_content(write):
    rows = [*good_chats(11), {"messages": [msg("user"), {"role": "assistant"}]}]
    expect(run(write(rows)), "missing_content", line=12, field="messages[1].content")


def test_example_missing_assistant_message(write):
    rows = [*good_chats(11), {"messages": [msg("user")]},
            {"messages": [msg("user"), msg("assistant", weight=0)]}]
    report = run(write(rows))
    found = group(report, "example_missing_assistant_message")
    COVERED.add("example_missing_assistant_message")
    assert [f.line for f in found.samples] == [12, 13]
    assert "weight 0" in found.samples[1].message


# --- further checks ---------------------------------------------------------------------


def _tool_example(call_id: str, answer_id: str) -> dict:
    return {"messages": [
        msg("user", "Where is order 7?"),
        {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function",
                                              "function": {"name": "lookup", "arguments": '{"id": 7}'}}]},
        {"role": "tool", "tool_call_id": answer_id, "content": '{"status": "shipped"}'},
        msg("assistant", "It shipped."),
    ], "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]}


def test_tool_calls_valid_and_mismatch(write):
    rows = [*good_chats(11), _tool_example("call_1", "call_1"), _tool_example("call_2", "call_9")]
    report = run(write(rows))
    sample = expect(report, "tool_call_id_mismatch", line=13, field="messages[2].tool_call_id")
    assert "call_9" in sample.message
    assert report.valid_examples == 12  # the matching one (no content, tool_calls) is valid
    assert any("tool" in note for note in report.approximations)


def test_unanswered_tool_call(write):
    example = _tool_example("call_1", "call_1")
    del example["messages"][2]
    report = run(write([*good_chats(11), example]))
    expect(report, "unanswered_tool_call", line=12, severity=Severity.WARNING)


def test_final_tool_call_without_reply_is_fine(write):
    example = _tool_example("call_1", "call_1")
    example["messages"] = example["messages"][:2]
    report = run(write([*good_chats(60), example]))
    assert report.ok and report.warnings == 0, report.findings


def test_legacy_function_call_is_valid(write):
    example = {"messages": [
        msg("system", "s"), msg("user", "weather?"),
        {"role": "assistant", "function_call": {"name": "weather", "arguments": "{}"}},
        {"role": "function", "name": "weather", "content": "sunny"}, msg("assistant", "Sunny."),
    ], "functions": [{"name": "weather", "parameters": {"type": "object"}}]}
    report = run(write([*good_chats(60), example]))
    assert report.ok and report.warnings == 0, report.findings


def test_invalid_weight(write):
    rows = [*good_chats(11), {"messages": [msg("user", weight=1), msg("assistant")]},
            {"messages": [msg("user"), msg("assistant", weight=0.5)]}]
    report = run(write(rows))
    found = group(report, "invalid_weight")
    COVERED.add("invalid_weight")
    assert [f.line for f in found.samples] == [12, 13]
    assert found.samples[1].field == "messages[1].weight"


def test_weight_ignored_locally(write):
    rows = [*good_chats(59), {"messages": [msg("user"), msg("assistant", "a", weight=0), msg("user"),
                                           msg("assistant", "b", weight=1)]}]
    assert "weight_ignored" not in codes(run(write(rows)))
    expect(run(write(rows, "l.jsonl"), provider=Provider.LOCAL, model="org/m"), "weight_ignored", line=60)


def test_empty_content(write):
    rows = [*good_chats(11), {"messages": [msg("user", "   "), msg("assistant", "x")]},
            {"messages": [msg("user", [{"type": "text", "text": ""}]), msg("assistant", "x")]}]
    report = run(write(rows))
    found = group(report, "empty_content")
    COVERED.add("empty_content")
    assert [f.line for f in found.samples] == [12, 13]


def test_content_parts_and_images(write):
    image = {"messages": [msg("user", [{"type": "text", "text": "What is this part?"},
                                       {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
                          msg("assistant", "A derailleur hanger.")]}
    report = run(write([*good_chats(60), image]))
    expect(report, "images_not_counted", severity=Severity.INFO)
    assert report.ok and report.images == 1


def test_image_in_assistant(write):
    bad = {"messages": [msg("user", "draw"), msg("assistant", [{"type": "image_url", "image_url": {"url": "x"}}])]}
    expect(run(write([*good_chats(11), bad])), "image_in_assistant", line=12)


def test_duplicate_example(write):
    rows = [*good_chats(11), good_chats(1, 3)[0]]
    sample = expect(run(write(rows)), "duplicate_example", line=12)
    assert "line 4" in sample.message


def test_duplicate_ignores_key_order(write):
    a = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    b = {"messages": [{"content": "q", "role": "user"}, {"content": "a", "role": "assistant"}]}
    expect(run(write([*good_chats(11), a, b])), "duplicate_example", line=13)


def test_over_context_limit(write):
    rows = [*good_chats(11), chat("word " * 300, "ok")]
    report = run(write(rows), provider=Provider.LOCAL, model="org/m", max_length=100)
    sample = expect(report, "over_context_limit", line=12)
    assert "truncated" in sample.message
    assert report.over_limit == 1
    assert report.ok  # a warning


def test_too_few_examples(write):
    report = run(write(good_chats(9)))
    expect(report, "too_few_examples", severity=Severity.ERROR)
    assert not report.ok
    local = run(write(good_chats(9), "l.jsonl"), provider=Provider.LOCAL, model="org/m")
    expect(local, "too_few_examples", severity=Severity.WARNING)


def test_few_examples(write):
    report = run(write(good_chats(30)))
    expect(report, "few_examples", severity=Severity.WARNING)
    assert report.ok


def test_missing_system_and_user_message(write):
    rows = [*good_chats(11), chat("q", "a", system=None), {"messages": [msg("system", "s"), msg("assistant", "a")]}]
    report = run(write(rows))
    expect(report, "missing_system_message", line=12, severity=Severity.INFO)
    expect(report, "missing_user_message", line=13, severity=Severity.WARNING)


def test_developer_role(write):
    rows = [*good_chats(11), {"messages": [msg("developer", "be brief"), msg("user"), msg("assistant")]}]
    expect(run(write(rows)), "developer_role", line=12, severity=Severity.WARNING)


def test_special_token_text_is_counted_not_rejected(write):
    rows = [*good_chats(59), chat("What does <|endoftext|> mean?", "It ends a text: <|endoftext|>")]
    report = run(write(rows))
    assert report.ok and report.valid_examples == 60


def test_every_check_code_has_a_test():
    # Runs last in this module (pytest keeps file order): every code was seen above.
    tested_elsewhere = {"check_failed"}  # test_data_broken.py: test_a_failing_check_costs_one_line
    missing = set(CHECKS) - COVERED - tested_elsewhere
    assert not missing, f"check codes without a test: {sorted(missing)}"
