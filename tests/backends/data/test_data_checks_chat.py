"""The Cookbook's checks (corrected for today's formats) and the further example checks."""

from __future__ import annotations

from backends.catalog import Provider
from backends.data import Severity
from tests.support.data_files import chat, codes, expect, good_chats, group, msg, run

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
    rows = [
        *good_chats(11),
        {"messages": [msg("user")]},
        {"messages": [msg("user"), msg("assistant", weight=0)]},
    ]
    report = run(write(rows))
    found = group(report, "example_missing_assistant_message")
    assert [f.line for f in found.samples] == [12, 13]
    assert "weight 0" in found.samples[1].message


# --- further checks ---------------------------------------------------------------------


def _tool_example(call_id: str, answer_id: str) -> dict:
    return {
        "messages": [
            msg("user", "Where is order 7?"),
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"id": 7}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": answer_id, "content": '{"status": "shipped"}'},
            msg("assistant", "It shipped."),
        ],
        "tools": [
            {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
        ],
    }


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
    example = {
        "messages": [
            msg("system", "s"),
            msg("user", "weather?"),
            {"role": "assistant", "function_call": {"name": "weather", "arguments": "{}"}},
            {"role": "function", "name": "weather", "content": "sunny"},
            msg("assistant", "Sunny."),
        ],
        "functions": [{"name": "weather", "parameters": {"type": "object"}}],
    }
    report = run(write([*good_chats(60), example]))
    assert report.ok and report.warnings == 0, report.findings


def test_invalid_weight(write):
    rows = [
        *good_chats(11),
        {"messages": [msg("user", weight=1), msg("assistant")]},
        {"messages": [msg("user"), msg("assistant", weight=0.5)]},
    ]
    report = run(write(rows))
    found = group(report, "invalid_weight")
    assert [f.line for f in found.samples] == [12, 13]
    assert found.samples[1].field == "messages[1].weight"


def test_weight_ignored_locally(write):
    rows = [
        *good_chats(59),
        {
            "messages": [
                msg("user"),
                msg("assistant", "a", weight=0),
                msg("user"),
                msg("assistant", "b", weight=1),
            ]
        },
    ]
    assert "weight_ignored" not in codes(run(write(rows)))
    expect(
        run(write(rows, "l.jsonl"), provider=Provider.LOCAL, model="org/m"),
        "weight_ignored",
        line=60,
    )


def test_empty_content(write):
    rows = [
        *good_chats(11),
        {"messages": [msg("user", "   "), msg("assistant", "x")]},
        {"messages": [msg("user", [{"type": "text", "text": ""}]), msg("assistant", "x")]},
    ]
    report = run(write(rows))
    found = group(report, "empty_content")
    assert [f.line for f in found.samples] == [12, 13]


def test_content_parts_and_images(write):
    image = {
        "messages": [
            msg(
                "user",
                [
                    {"type": "text", "text": "What is this part?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            ),
            msg("assistant", "A derailleur hanger."),
        ]
    }
    report = run(write([*good_chats(60), image]))
    expect(report, "images_not_counted", severity=Severity.INFO)
    assert report.ok and report.images == 1


def test_image_in_assistant(write):
    bad = {
        "messages": [
            msg("user", "draw"),
            msg("assistant", [{"type": "image_url", "image_url": {"url": "x"}}]),
        ]
    }
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
    rows = [
        *good_chats(11),
        chat("q", "a", system=None),
        {"messages": [msg("system", "s"), msg("assistant", "a")]},
    ]
    report = run(write(rows))
    expect(report, "missing_system_message", line=12, severity=Severity.INFO)
    expect(report, "missing_user_message", line=13, severity=Severity.WARNING)


def test_developer_role(write):
    rows = [
        *good_chats(11),
        {"messages": [msg("developer", "be brief"), msg("user"), msg("assistant")]},
    ]
    expect(run(write(rows)), "developer_role", line=12, severity=Severity.WARNING)


def test_special_token_text_is_counted_not_rejected(write):
    rows = [*good_chats(59), chat("What does <|endoftext|> mean?", "It ends a text: <|endoftext|>")]
    report = run(write(rows))
    assert report.ok and report.valid_examples == 60
