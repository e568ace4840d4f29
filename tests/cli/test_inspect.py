"""``finetune-tui inspect`` through ``tui.cli.main``: exit codes, text, JSON, conversions."""

from __future__ import annotations

import json

import pytest

from tests.support.data_files import good_chats
from tui.cli import main

REQUIRED_KEYS = {
    "format",
    "examples",
    "errors",
    "warnings",
    "total_tokens",
    "assistant_tokens",
    "billing_tokens",
    "epochs",
    "charged_tokens",
    "encoding",
    "exact",
    "estimated_cost_usd",
}


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["inspect", *argv, "--json", "--workers", "1"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_clean_file_exits_0_with_text(write, capsys):
    code = main(["inspect", str(write(good_chats(60))), "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "OK: can be trained on" in out and "Cost per model" in out and "as of" in out


def test_json_has_the_documented_keys(write, capsys):
    code, data = run_json(capsys, str(write(good_chats(60))), "--model", "gpt-4.1-mini")
    assert code == 0
    assert data.keys() >= REQUIRED_KEYS
    assert data["format"] == "chat" and data["examples"] == 60 and data["errors"] == []
    # o200k_base exactly when bpe-openai (or a tiktoken cache) has it; else cl100k_base, labelled
    assert (data["encoding"], data["tokenizer"]["exact"]) in (
        ("o200k_base", True),
        ("cl100k_base", False),
    )
    assert data["epochs"] == 3 and data["charged_tokens"] == 3 * data["billing_tokens"]
    assert data["estimated_cost_usd"] == pytest.approx(round(data["charged_tokens"] * 5.0 / 1e6, 4))


def test_errors_exit_1_with_line_numbers(write, capsys):
    code, data = run_json(capsys, str(write([*good_chats(11), "{bad", {"messages": []}])))
    assert code == 1
    assert [(e["code"], e["line"]) for e in data["errors"]] == [
        ("invalid_json", 12),
        ("missing_messages_list", 13),
    ]
    assert all({"code", "line", "message"} <= e.keys() for e in data["errors"])


def test_warnings_only_exit_0(write, capsys):
    code, data = run_json(capsys, str(write(good_chats(20))))
    assert code == 0 and [w["code"] for w in data["warnings"]] == ["few_examples"]
    assert data["warnings"][0]["line"] is None


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_unreadable_inputs_exit_2(tmp_path, capsys, make):
    target = tmp_path / "nope.jsonl" if make == "missing" else tmp_path
    assert main(["inspect", str(target)]) == 2
    err = capsys.readouterr().err
    assert str(target) in err and "Traceback" not in err


def test_usage_errors_exit_2(write, capsys):
    assert main(["inspect"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "x.jsonl", "--split", "2"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["inspect", "x.jsonl", "--provider", "mars"])
    path = write(good_chats(12))
    assert main(["inspect", str(path), "--split", "0.2", "--validation", str(path)]) == 2
    assert main(["inspect", str(path), "--price", "gpt-4o=cheap"]) == 2


def test_validation_file_is_reported(write, capsys):
    train = write(good_chats(60), "train.jsonl")
    valid = write([*good_chats(5, 100), "{broken"], "valid.jsonl")
    code, data = run_json(capsys, str(train), "--validation", str(valid))
    assert code == 1
    assert data["validation"]["errors"][0]["code"] == "invalid_json"
    assert data["validation"]["errors"][0]["line"] == 6


def test_convert_to_chat(write, tmp_path, capsys):
    source = write([{"prompt": f"Q{i}", "completion": f"A{i}"} for i in range(60)])
    out = tmp_path / "chat.jsonl"
    code, data = run_json(
        capsys, str(source), "--convert-to-chat", str(out), "--system", "Be brief."
    )
    assert code == 0 and out.exists()
    assert data["conversion"]["written"] == 60 and data["format"] == "chat"
    assert main(["inspect", str(source), "--convert-to-chat", str(out)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


def test_split_then_inspect_both(write, capsys):
    source = write(good_chats(100))
    code, data = run_json(capsys, str(source), "--split", "0.1", "--seed", "3")
    assert code == 0
    assert (data["split"]["train_examples"], data["split"]["validation_examples"]) == (90, 10)
    assert data["examples"] == 90 and data["validation"]["examples"] == 10


def test_sample(capsys):
    code, data = run_json(capsys, "--sample")
    assert code == 0 and data["examples"] >= 60 and data["validation"]["examples"] >= 10


def test_price_override_and_epochs(write, capsys):
    code, data = run_json(
        capsys, str(write(good_chats(60))), "--price", "gpt-4o-mini=1.5", "--epochs", "2"
    )
    assert code == 0 and data["epochs"] == 2 and data["price_per_1m_usd"] == 1.5


def test_local_provider(write, capsys):
    code, data = run_json(
        capsys,
        str(write(good_chats(60))),
        "--provider",
        "local",
        "--model",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "--max-length",
        "20",
    )
    assert code == 0 and data["costs"] == [] and data["exact"] is False
    assert data["over_limit"] == 60
