"""``finetune-tui eval --judge``: priced before running, confirmed like ``train``, shown everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.fakes.finetune_api import FineTuneAPI
from tests.fakes.judge import with_judge
from tests.support.evaluate import tuned_or_echo
from tui.cli import main

BASE = "gpt-4o-mini-2024-07-18"
TUNED = "ft:gpt-4o-mini-2024-07-18:org::abc123"


@pytest.fixture
def hosted_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FineTuneAPI]:
    with FineTuneAPI(chat_responder=with_judge(tuned_or_echo)) as api:
        monkeypatch.setenv("OPENAI_API_KEY", api.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        yield api


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def eval_args(eval_file: Path, train_file: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", BASE, "--train", str(train_file),
        "--tuned", TUNED, "--few-shot", "2", "--rag", "2", "--limit", "4", *more,
    ]  # fmt: skip


def judge_calls(api: FineTuneAPI) -> list[dict]:
    return [c for c in api.chat_calls if c["model"] == "gpt-4.1-mini"]


def test_json_with_a_judge(
    hosted_env: FineTuneAPI, eval_file: Path, train_file: Path, tmp_path: Path, capsys
) -> None:
    argv = eval_args(eval_file, train_file, tmp_path, "--judge", "gpt-4.1-mini", "--yes", "--json")
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert err.startswith("LLM judge: 16 judge requests to gpt-4.1-mini on OpenAI: ")
    assert "(prices as of 2025-06)" in err
    data = orjson.loads(out)
    judge = data["judge"]
    assert (judge["model"], judge["requested"], judge["judged"], judge["errors"]) == (
        "gpt-4.1-mini", 16, 16, 0
    )  # fmt: skip
    assert judge["estimate"]["requests"] == 16 and judge["estimate"]["cost"] > 0
    assert judge["cost"] > 0 and judge["rubric_version"] == "1"
    assert data["methods"]["tuned"]["scores"]["judge"]["mean"] == 5.0
    assert set(data["methods"]["zero-shot"]["scores"]["judge"]) == {
        "mean",
        "ci_low",
        "ci_high",
        "n",
    }
    assert data["rows"][0]["answers"]["tuned"]["judge"]["score"] == 5
    assert len(judge_calls(hosted_env)) == 16
    assert hosted_env.api_key not in out + err


def test_table_with_a_judge(
    hosted_env: FineTuneAPI, eval_file: Path, train_file: Path, tmp_path: Path, capsys
) -> None:
    argv = eval_args(eval_file, train_file, tmp_path, "--judge", "gpt-4.1-mini", "--yes")
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    header = out.splitlines()[2]
    assert "ROUGE-L" in header and header.index("JUDGE (1-5)") > header.index("ROUGE-L")
    tuned = next(line for line in out.splitlines() if line.startswith("tuned"))
    assert "5.000 [5.00-5.00]" in tuned
    assert "Judge: gpt-4.1-mini, rubric v1, 16 of 16 answers graded (1-5)." in out
    assert "Judge cost: $" in out and "estimated before running: $" in out


def test_without_judge_no_judge_column(
    hosted_env: FineTuneAPI, eval_file: Path, train_file: Path, tmp_path: Path, capsys
) -> None:
    code, out, err = run_cli(capsys, *eval_args(eval_file, train_file, tmp_path))
    assert code == 0, err
    assert "JUDGE" not in out and "Judge" not in out and "judge" not in err
    assert judge_calls(hosted_env) == []


def test_not_a_terminal_needs_yes(
    hosted_env: FineTuneAPI, eval_file: Path, train_file: Path, tmp_path: Path, capsys
) -> None:
    argv = eval_args(eval_file, train_file, tmp_path, "--judge", "gpt-4.1-mini")
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert "LLM judge: 16 judge requests" in err
    assert "Not a terminal: pass --yes to run the judge." in err
    assert "nothing run: the judge's cost was not confirmed." in err
    assert hosted_env.chat_calls == []  # nothing was sent, not even the methods


@pytest.mark.parametrize(("typed", "code"), [("n", 2), ("y", 0)])
def test_a_terminal_asks(
    hosted_env: FineTuneAPI,
    eval_file: Path,
    train_file: Path,
    tmp_path: Path,
    capsys,
    monkeypatch: pytest.MonkeyPatch,
    typed: str,
    code: int,
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or typed)
    argv = eval_args(eval_file, train_file, tmp_path, "--judge", "gpt-4.1-mini", "--json")
    got, _out, err = run_cli(capsys, *argv)
    assert got == code, err
    assert asked == ["Run the judge? [y/N] "]
    assert len(judge_calls(hosted_env)) == (16 if typed == "y" else 0)


def test_a_local_evaluation_needs_the_judges_provider(
    eval_file: Path, tmp_path: Path, capsys
) -> None:
    code, _out, err = run_cli(
        capsys,
        "--workspace", str(tmp_path / "ws"),
        "eval", "--data", str(eval_file), "--model", "org/tiny-model", "--few-shot", "0",
        "--rag", "0", "--judge", "gpt-4.1-mini", "--yes",
    )  # fmt: skip
    assert code == 2
    assert "runs on a hosted model, and the evaluation is local" in err
    assert "--judge-provider openai" in err and "Traceback" not in err


def test_the_judge_without_its_providers_settings(
    hosted_env: FineTuneAPI, eval_file: Path, train_file: Path, tmp_path: Path, capsys
) -> None:
    argv = eval_args(
        eval_file, train_file, tmp_path, "--judge", "judge-deploy", "--judge-provider", "azure"
    )
    code, _out, err = run_cli(capsys, *argv, "--yes")
    assert code == 2
    assert "The judge needs Azure OpenAI" in err and "AZURE_OPENAI" in err
    assert hosted_env.chat_calls == [] and hosted_env.api_key not in err
