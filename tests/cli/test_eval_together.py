"""``finetune-tui eval`` and ``chat`` on Together AI: base and fine-tuned models through its
OpenAI-compatible chat API (the emulator's ``/v1/chat/completions``), key never shown."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.together_api import TogetherAPI
from tui.cli import main

BASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
TUNED = "user/Meta-Llama-3.1-8B-Instruct-Reference-ft-abc123"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def together_run(workspace: Path, api: TogetherAPI, dataset: str) -> str:
    """A finished Together run, its connection as the Together backend saves it (no provider)."""
    folder = RunStore(workspace / "runs").create(
        RunSpec(
            backend="together",
            model=BASE,
            dataset=dataset,
            settings={"connection": {"base_url": api.base_url, "timeout_s": 60.0}},
        ),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": TUNED},
    )
    return folder.run_id


def test_eval_calls_base_and_fine_tuned_model_on_together(
    together_env: TogetherAPI,
    eval_file: Path,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_id = together_run(tmp_path / "ws", together_env, str(tmp_path / "other.jsonl"))
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--provider", "together", "--data", str(eval_file), "--model", BASE,
        "--train", str(train_file), "--tuned", run_id, "--few-shot", "0", "--rag", "0",
        "--limit", "3", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = orjson.loads(out)
    assert list(data["methods"]) == ["zero-shot", "tuned"]
    assert data["methods"]["tuned"]["model"] == TUNED
    assert data["rows"][0]["answers"]["tuned"]["text"].startswith("echo: ")
    assert together_env.chat_models.count(TUNED) == 3 and together_env.chat_models.count(BASE) == 3
    assert ("POST", "/v1/chat/completions") in together_env.requests
    assert together_env.api_key not in out + err


def test_eval_without_the_key_says_which_variable(
    eval_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--provider", "together", "--data", str(eval_file), "--model", BASE,
    )  # fmt: skip
    assert code != 0
    assert "TOGETHER_API_KEY" in err and "Traceback" not in err


def test_chat_streams_both_answers_from_together(
    together_env: TogetherAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = together_run(tmp_path / "ws", together_env, "train.jsonl")
    code, out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "chat", "--provider", "together", "--model", BASE, "--tuned", run_id,
        "--prompt", "Can you fit mudguards?",
    )  # fmt: skip
    assert code == 0, err
    assert f"── base: {BASE} (Together AI) ──\necho: Can you fit mudguards?\n" in out
    assert f"── tuned: {TUNED} (Together AI) ──\necho: Can you fit mudguards?\n" in out
    assert "5 prompt + 5 completion tokens" in out
    assert together_env.api_key not in out + err
