"""``finetune-tui eval``: the table, the --json shape, clear errors, no key in the output."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from backends.hosted.settings import HostedSettings
from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI
from tui.cli import main

BASE = "gpt-4o-mini-2024-07-18"
TUNED = "ft:gpt-4o-mini-2024-07-18:org::abc123"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_shape(
    openai_env: FineTuneAPI,
    eval_file: Path,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--train", str(train_file),
        "--tuned", TUNED, "--few-shot", "2", "--rag", "2", "--limit", "4", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = orjson.loads(out)
    assert set(data) >= {"methods", "rows", "benefit", "held_out", "examples", "cancelled"}
    assert list(data["methods"]) == ["zero-shot", "few-shot", "rag", "tuned"]
    tuned = data["methods"]["tuned"]
    assert tuned["scores"]["exact_match"]["mean"] == 1.0
    assert set(tuned["scores"]["token_f1"]) == {"mean", "ci_low", "ci_high", "n"}
    assert tuned["prompt_tokens_per_request"] > 0 and tuned["latency_s_per_request"] >= 0
    assert data["methods"]["few-shot"]["shots"] == 2
    assert data["examples"] == 4 and len(data["rows"]) == 4
    row = data["rows"][0]
    assert set(row) == {"line", "prompt", "reference", "answers"}
    assert row["answers"]["tuned"]["text"] == "200"
    assert data["benefit"]["quality_gain"] > 0
    assert data["benefit"]["prices_as_of"]
    assert openai_env.api_key not in out + err


def test_table_and_hosted_run_as_tuned(
    openai_env: FineTuneAPI,
    eval_file: Path,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = RunStore(tmp_path / "ws" / "runs")
    connection = HostedSettings(base_url=openai_env.base_url).to_dict()
    folder = store.create(
        RunSpec(backend="openai", model=BASE, dataset=str(train_file), settings={"connection": connection}),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": TUNED, "trained_tokens": 100_000},
    )  # fmt: skip
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--train", str(train_file),
        "--tuned", folder.run_id,
    )  # fmt: skip
    assert code == 0, err
    assert "METHOD" in out and "zero-shot" in out and "tuned" in out
    assert "Quality gain (token F1)" in out
    assert "Prices as of" in out
    assert openai_env.api_key not in out + err


def test_run_trained_on_the_eval_file_is_refused(
    openai_env: FineTuneAPI, eval_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(
        RunSpec(backend="openai", model=BASE, dataset=str(eval_file)),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": TUNED},
    )
    code, _out, err = run_cli(
        capsys, "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--tuned", folder.run_id,
    )  # fmt: skip
    assert code == 2 and "training file" in err and "Traceback" not in err


def test_no_key_is_a_clear_message(eval_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "eval", "--data", str(eval_file), "--model", BASE)
    assert code == 2
    assert "OPENAI_API_KEY" in err and "Traceback" not in err and out == ""


def test_wrong_key_is_never_shown(
    emulator: FineTuneAPI,
    eval_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "sk-proj-wrongwrongwrong-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    code, out, err = run_cli(capsys, "eval", "--data", str(eval_file), "--model", BASE)
    assert code == 1
    assert "401" in out and wrong not in out + err and "6789" not in out + err


def test_missing_file_and_bad_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "eval", "--data", str(tmp_path / "no.jsonl"), "--model", BASE)
    assert code == 2 and "no such file" in err
    code, _, err = run_cli(capsys, "eval", "--data", "x.jsonl", "--model", BASE, "--limit", "0")
    assert code == 2 and "--limit" in err


def test_azure_endpoint_option(
    emulator: FineTuneAPI,
    eval_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emulator.api_key)
    argv = ["--workspace", str(tmp_path / "ws"), "eval", "--data", str(eval_file)]
    argv += ["--model", "my-deployment", "--provider", "azure", "--few-shot", "0", "--rag", "0"]
    argv += ["--limit", "2", "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and "AZURE_OPENAI_ENDPOINT" in err  # no endpoint anywhere: said, not crashed
    code, out, err = run_cli(capsys, *argv, "--azure-endpoint", emulator.azure_endpoint)
    assert code == 0, err
    assert orjson.loads(out)["methods"]["zero-shot"]["answered"] == 2
    assert emulator.api_key not in out + err


def test_tuned_that_is_neither_a_run_nor_a_model_is_refused(
    openai_env: FineTuneAPI, eval_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--tuned", "nope", "--limit", "2",
    )  # fmt: skip
    assert code != 0 and "'nope'" in err and "neither a run" in err
    assert "tuned nope" not in out and not openai_env.chat_calls


CURRENT = "ft:gpt-4o-mini-2024-07-18:chainline::abc123"
"""The fine-tuned model in use today, which the emulator's account lists."""


def test_current_fine_tune_is_its_own_row_with_its_cost(
    openai_env: FineTuneAPI,
    eval_file: Path,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--current ft:…``: one more row on the same prompts, priced per 1,000 requests."""
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--train", str(train_file),
        "--tuned", TUNED, "--current", CURRENT, "--limit", "3", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = orjson.loads(out)
    assert list(data["methods"]) == ["zero-shot", "few-shot", "rag", "current", "tuned"]
    current = data["methods"]["current"]
    assert current["model"] == CURRENT and current["answered"] == 3
    asked = [call["model"] for call in openai_env.chat_calls]
    assert asked.count(CURRENT) == 3 and asked.count(TUNED) == 3
    prompts = {
        method: [row["answers"][method]["text"] for row in data["rows"]]
        for method in ("current", "tuned")
    }
    assert prompts["current"] == prompts["tuned"]  # the same prompts, the same plain answers
    benefit = data["benefit"]
    assert benefit["cost_per_1000"]["current"] > 0
    assert benefit["current_score"] == current["scores"]["token_f1"]["mean"]
    assert benefit["best_alternative"] in ("zero-shot", "few-shot", "rag")  # never the current

    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--few-shot", "0", "--rag", "0",
        "--tuned", TUNED, "--current", CURRENT, "--limit", "2",
    )  # fmt: skip
    assert code == 0, err
    assert "current fine-tune" in out
    assert "Against the current fine-tune (token F1): tuned" in out
    assert openai_env.api_key not in out + err


def test_current_that_the_provider_does_not_have_is_refused(
    openai_env: FineTuneAPI, eval_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--current", "ft:gpt-4o-mini:x::gone",
        "--limit", "2",
    )  # fmt: skip
    assert code == 2 and "'ft:gpt-4o-mini:x::gone'" in err and "jobs --backend openai" in err
    assert not openai_env.chat_calls and "Traceback" not in err
