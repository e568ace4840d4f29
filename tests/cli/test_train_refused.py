"""Known data errors never launch: ``train`` on every backend exits 1 before any upload or worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import registry
from backends.runs import RunStore
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.tiny_model import build_tiny_model
from tui.cli import main

GOOD = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
BAD_LINES = [
    b"{not json\n",  # line 2
    b'{"messages": [{"role": "user", "content": "no reply"}]}\n',  # line 3
    b'{"messages": [{"role": "bot", "content": "x"}, {"role": "assistant", "content": "y"}]}\n',
]


@pytest.fixture
def bad_data(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(GOOD + b"".join(BAD_LINES) + GOOD * 12)
    return path


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.mark.parametrize("backend", registry.names())
def test_train_with_data_errors_exits_1_before_any_upload(
    backend: str,
    bad_data: Path,
    model_folder: Path,
    emulator: FineTuneAPI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    info = registry.get(backend)
    if info.key_env:
        monkeypatch.setenv(info.key_env, emulator.api_key)
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)  # the address-named API's key below
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.azure_endpoint)
    if not info.hosted:
        pytest.importorskip("torch")
    model = "gpt-4o-mini" if info.hosted else str(model_folder)
    workspace = tmp_path / "ws"
    code = main(
        [
            "--workspace",
            str(workspace),
            "train",
            "--backend",
            backend,
            "--data",
            str(bad_data),
            "--model",
            model,
            "--yes",
            "--detach",
            *(
                ["--base-url", emulator.base_url, "--key-env", "OPENAI_API_KEY"]
                if info.custom_address
                else []
            ),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert "3 errors" in err and "line 2" in err and "line 3" in err and "line 4" in err
    assert "Nothing was uploaded" in err and "Uploaded" not in err
    assert emulator.files == {} and not [r for r in emulator.requests if r[0] == "POST"]
    assert not (workspace / "runs").exists() or RunStore(workspace / "runs").list_folders() == []


def test_warnings_do_not_block(
    emulator: FineTuneAPI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    data = tmp_path / "warned.jsonl"
    data.write_bytes(GOOD * 12 + b"\n" + GOOD)  # a blank line: a warning
    args = ["train", "--backend", "openai", "--data", str(data), "--model", "gpt-4o-mini"]
    code = main(["--workspace", str(tmp_path / "ws"), *args, "--yes", "--detach"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "warning" in err and out.strip()
