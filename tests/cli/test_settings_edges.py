"""Settings at the numeric edges and config files of the wrong shape: exit 2, the flag named, nothing left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.finetune_api import FineTuneAPI
from tui.cli import main

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--max-steps", HUGE),
        ("--epochs", HUGE),
        ("--lr", "inf"),
        ("--lr", "nan"),
        ("--epochs", "inf"),
        ("--batch-size", HUGE),
        ("--lora-dropout", "1"),
        ("--seed", "-1"),
    ],
)
def test_local_train_refuses_numbers_out_of_range(
    tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    workspace = tmp_path / "ws"
    argv = ["--workspace", str(workspace), "train", "--backend", "local"]
    argv += ["--model", str(tmp_path / "model"), "--data", str(dataset), flag, value, "--detach"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be" in err and "Traceback" not in err
    assert not (workspace / "runs").exists() or not any((workspace / "runs").iterdir())


def test_local_train_names_a_flag_that_is_not_a_number(
    tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--workspace", str(tmp_path / "ws"), "train", "--backend", "local"]
    assert main([*argv, "--data", str(dataset), "--epochs", "lots"]) == 2
    assert "--epochs must be a number or auto, not 'lots'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--lr-multiplier", "inf"), ("--epochs", HUGE), ("--batch-size", "nan"), ("--epochs", "0")],
)
def test_hosted_train_refuses_numbers_before_uploading(
    openai_env: FineTuneAPI,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
) -> None:
    workspace = tmp_path / "ws"
    argv = ["--workspace", str(workspace), "train", "--backend", "openai", "--yes"]
    argv += ["--model", "gpt-4o-mini", "--data", str(dataset), flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be 'auto' or" in err and "Uploaded" not in err
    assert openai_env.files == {} and openai_env.jobs == {}
    assert not (workspace / "runs").exists()


def test_hosted_train_refuses_local_only_flags(
    openai_env: FineTuneAPI, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--workspace", str(tmp_path / "ws"), "train", "--backend", "openai", "--yes"]
    argv += ["--model", "gpt-4o-mini", "--data", str(dataset), "--max-steps", "5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--max-steps: not taken by OpenAI (local training only)" in err and "--epochs" in err
    assert openai_env.jobs == {}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("c.toml", 'data = ["a"]', "field 'data' must be a string"),
        ("c.toml", "local = 5", "field 'local' must be a table of settings, not int 5"),
        ("c.toml", 'lora_r = "eight"', "field 'lora_r' must be a whole number, not str"),
        ("c.toml", "[local]\npacking = 3", "field 'local.packing' must be true/false"),
        ("c.json", '["a"]', "must hold one JSON object, not list"),
        ("c.json", '{"settings": {"local": []}}', "field 'settings.local' must be a table"),
    ],
)
def test_config_of_the_wrong_shape_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, expected: str
) -> None:
    config = tmp_path / name
    config.write_text(text)
    workspace = tmp_path / "ws"
    argv = ["--workspace", str(workspace), "train", "--backend", "local", "--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and str(config) in err and "Traceback" not in err
    assert not (workspace / "runs").exists()
