"""``finetune-tui train|jobs|attach|download --backend together`` against Together's emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.runs import RunStore
from tests.fakes.together_api import ARCHIVE, TogetherAPI
from tests.support.helpers import files_containing
from tui.cli import main

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def test_train_follows_to_the_end_then_downloads(
    together_env: TogetherAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    code = main(
        [
            "--workspace",
            str(workspace),
            "train",
            "--backend",
            "together",
            "--data",
            str(dataset),
            "--model",
            MODEL,
            "--epochs",
            "2",
            "--lora-r",
            "16",
            "--adapter",
            "lora",
            "--yes",
        ]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    [folder] = RunStore(workspace / "runs").list_folders()
    assert out.splitlines()[0] == folder.run_id
    assert "Fine-tuned model: user/" in out
    created = together_env.created[0]
    assert created["n_epochs"] == 2 and created["training_type"]["lora_r"] == 16
    assert [p.step for p in folder.load_metrics()] == [1, 2, 3, 4, 5, 6]

    assert main(["--workspace", str(workspace), "download", folder.run_id]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == folder.output_dir and path.read_bytes() == ARCHIVE + b"adapter"
    assert files_containing(workspace, together_env.api_key) == []


def test_jobs_and_attach(
    together_env: TogetherAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    args = ["--workspace", str(workspace)]
    train = ["train", "--backend", "together", "--data", str(dataset), "--model", MODEL]
    assert main([*args, *train, "--yes", "--detach"]) == 0
    capsys.readouterr()
    assert main([*args, "jobs", "--backend", "together"]) == 0
    out = capsys.readouterr().out
    (job_id,) = together_env.jobs
    assert job_id in out and MODEL in out and "--backend together" in out
    assert main([*args, "attach", job_id, "--backend", "together"]) == 0
    assert "Fine-tuned model: user/" in capsys.readouterr().out


def test_a_rejected_key_is_said_plainly(
    together_env: TogetherAPI,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "tg-not-the-key-4242")
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "train",
            "--backend",
            "together",
            "--data",
            str(dataset),
            "--model",
            MODEL,
            "--yes",
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "API key rejected" in err
    assert "free trial" not in err and "Traceback" not in err and "tg-not-the-key-4242" not in err


def test_unknown_model_is_accepted_with_price_unknown(
    together_env: TogetherAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "train",
            "--backend",
            "together",
            "--data",
            str(dataset),
            "--model",
            "someone/new-model",
            "--yes",
            "--detach",
        ]
    )
    assert code == 0
    assert "price unknown" in capsys.readouterr().err


def test_train_converts_sharegpt_into_a_new_file_and_says_so(
    together_env: TogetherAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    source = tmp_path / "talks.jsonl"
    rows = [
        {"conversations": [{"from": "human", "value": f"q {i}"}, {"from": "gpt", "value": "a"}]}
        for i in range(12)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = source.read_bytes()
    workspace = tmp_path / "ws"
    train = ["train", "--backend", "together", "--data", str(source), "--model", MODEL]
    code = main(["--workspace", str(workspace), *train, "--yes", "--detach"])
    err = capsys.readouterr().err
    assert code == 0, err
    converted = tmp_path / "talks.together.jsonl"
    assert "note: Converted: talks.jsonl (12 ShareGPT conversations)" in err
    assert str(converted) in err and "your file is unchanged" in err
    assert "note: the model list (from Together AI's API, fetched " in err
    assert err.count("Uploaded talks.together.jsonl (") == 1  # once, however the SDK reports
    assert "train_on_inputs" not in err  # no SDK warning printed over ours
    assert source.read_bytes() == before and converted.is_file()
    [folder] = RunStore(workspace / "runs").list_folders()
    assert folder.read_spec().dataset == str(converted)


def test_train_with_the_api_unreachable_uses_the_catalog(
    together_env: TogetherAPI,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    together_env.inject(503, path_contains="supported-models", times=50)
    train = ["train", "--backend", "together", "--data", str(dataset), "--model", MODEL]
    code = main(["--workspace", str(tmp_path / "ws"), *train, "--yes", "--detach"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "note: the model list (catalog of 2025-06) lists " + MODEL in err
    assert "Traceback" not in err
