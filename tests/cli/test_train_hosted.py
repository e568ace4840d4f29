"""``finetune-tui train --backend openai`` and ``attach`` against the emulator (real follower process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.runs import RunStore
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import files_containing
from tui.cli import main


def test_train_follows_to_the_end(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    code = main(
        [
            "--workspace",
            str(workspace),
            "train",
            "--backend",
            "openai",
            "--data",
            str(dataset),
            "--model",
            "gpt-4o-mini",
            "--epochs",
            "2",
            "--suffix",
            "cli",
            "--yes",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    [folder] = RunStore(workspace / "runs").list_folders()
    assert out.splitlines()[0] == folder.run_id
    assert "step 12/12" in out and "Fine-tuned model: ft:gpt-4o-mini" in out
    assert files_containing(workspace, openai_env.api_key) == []


def test_train_detach_prints_the_run_id(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "train",
            "--backend",
            "openai",
            "--data",
            str(dataset),
            "--model",
            "gpt-4o-mini",
            "--yes",
            "--detach",
        ]
    )
    run_id = capsys.readouterr().out.strip()
    assert code == 0 and RunStore(tmp_path / "ws" / "runs").find(run_id).read_status().job_id


def test_train_refused_exits_1_with_alternatives(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_env.refuse_training = True
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "train",
            "--backend",
            "openai",
            "--data",
            str(dataset),
            "--model",
            "gpt-4o-mini",
            "--yes",
        ]
    )
    assert code == 1 and "Azure OpenAI" in capsys.readouterr().err


def test_train_without_key_or_confirmation_is_usage(
    monkeypatch: pytest.MonkeyPatch,
    emulator: FineTuneAPI,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "--workspace",
        str(tmp_path / "ws"),
        "train",
        "--backend",
        "openai",
        "--data",
        str(dataset),
        "--model",
        "gpt-4o-mini",
    ]
    assert main(argv) == 2 and "OPENAI_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    assert main(argv) == 2 and "--yes" in capsys.readouterr().err
    assert emulator.jobs == {}


def test_attach_mirrors_an_existing_job(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openai

    client = openai.OpenAI()
    training = client.files.create(file=dataset, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    code = main(["--workspace", str(tmp_path / "ws"), "attach", job.id, "--backend", "openai"])
    assert code == 0 and "step 12/12" in capsys.readouterr().out


def test_jobs_lists_recent_jobs_to_attach_to(
    openai_env: FineTuneAPI, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openai
    import orjson

    client = openai.OpenAI()
    training = client.files.create(file=dataset, purpose="fine-tune")
    first = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=training.id
    )
    second = client.fine_tuning.jobs.create(
        model="gpt-4.1-nano-2025-04-14", training_file=training.id
    )
    assert main(["jobs", "--backend", "openai"]) == 0
    out = capsys.readouterr().out
    assert out.index(second.id) < out.index(first.id)  # newest first
    assert "finetune-tui attach JOB_ID --backend openai" in out
    assert main(["jobs", "--backend", "openai", "--json"]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    assert [row["job_id"] for row in rows[:2]] == [second.id, first.id]
    assert rows[0]["model"] == "gpt-4.1-nano-2025-04-14"


def test_jobs_with_a_bad_key_is_a_message(
    openai_env: FineTuneAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-0123456789abcdef")
    assert main(["jobs", "--backend", "openai"]) == 1
    captured = capsys.readouterr()
    assert "sk-wrong-0123456789abcdef" not in captured.err + captured.out
    assert "Traceback" not in captured.err


def test_train_says_uploaded_once_and_not_before_a_refusal(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai", "--yes"]
    argv += ["--model", "gpt-4o-mini", "--data", str(dataset), "--detach"]
    assert main(argv) == 0
    assert capsys.readouterr().err.count("Uploaded train.jsonl") == 1
    openai_env.inject(401, times=1, path_contains="/files")
    assert main(argv) == 1
    assert "Uploaded" not in capsys.readouterr().err


def test_a_final_server_error_does_not_promise_a_retry(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_env.inject(500, times=50, path_contains="/fine_tuning/jobs")
    argv = ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai", "--yes"]
    assert main([*argv, "--model", "gpt-4o-mini", "--data", str(dataset), "--detach"]) == 1
    err = capsys.readouterr().err
    assert "retrying." not in err and "did not recover after retrying" in err


def test_openai_refusing_training_offers_the_others_with_the_same_data(
    refusing_openai: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai",
         "--model", "gpt-4o-mini", "--data", str(dataset), "--yes"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "training_not_available" in err or "refused to create" in err
    assert "Together AI: meta-llama/Meta-Llama-3.1-8B-Instruct-Reference" in err
    assert (
        "finetune-tui train --backend together --model "
        f"meta-llama/Meta-Llama-3.1-8B-Instruct-Reference --data {dataset}" in err
    )
    assert "Local GPU: Qwen/Qwen2.5-1.5B-Instruct" in err
    assert refusing_openai.api_key not in err


def test_after_the_wind_down_openai_is_closed_and_the_others_offered() -> None:
    from datetime import date

    from backends import migration

    assert migration.closed_for("openai", date(2027, 1, 5)) is None
    assert "since 6 January 2027" in (migration.closed_for("openai", date(2027, 12, 1)) or "")
    assert migration.closed_for("together", date(2027, 12, 1)) is None
    offers = migration.offers("ft:gpt-4o-mini-2024-07-18:acme::abc", date(2027, 1, 6))
    assert [o.backend for o in offers] == ["azure", "together", "nebius", "local"]


def test_on_a_closed_day_train_offers_the_others_before_any_upload(
    openai_env: FineTuneAPI,
    dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``FINETUNE_TUI_TODAY`` after OpenAI's last day: refused with the offers, nothing sent."""
    monkeypatch.setenv("FINETUNE_TUI_TODAY", "2027-02-01")
    code = main(
        ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai",
         "--model", "gpt-4o-mini", "--data", str(dataset), "--yes"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "OpenAI creates no new fine-tuning jobs since 6 January 2027" in err
    assert "Together AI: meta-llama/Meta-Llama-3.1-8B-Instruct-Reference" in err
    assert (
        f"finetune-tui train --backend local --model Qwen/Qwen2.5-1.5B-Instruct --data {dataset}"
        in err
    )
    assert openai_env.requests == [] and openai_env.files == {}
    assert "Traceback" not in err


def test_a_bad_today_override_is_named(
    dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FINETUNE_TUI_TODAY", "next tuesday")
    code = main(
        ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai",
         "--model", "gpt-4o-mini", "--data", str(dataset), "--yes"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "FINETUNE_TUI_TODAY='next tuesday' is not a date (YYYY-MM-DD)" in err


def test_jobs_lists_the_accounts_fine_tuned_models(
    openai_env: FineTuneAPI, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openai

    client = openai.OpenAI()
    training = client.files.create(file=dataset, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    openai_env.run_to_end(job.id)
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert main(["jobs", "--backend", "openai"]) == 0
    out = capsys.readouterr().out
    assert "Your fine-tuned models (they keep serving):" in out
    assert f"  {model}  (from gpt-4o-mini-2024-07-18, job {job.id})" in out
    assert "--current MODEL" in out
