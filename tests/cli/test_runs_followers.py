"""`runs` over a hosted run whose follower was killed: restarted as `watch` does, and said."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from backends.hosted.backend import OpenAIBackend
from backends.hosted.follower import follower_alive, start_follower
from backends.hosted.settings import HostedSettings
from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.fake_jobs import Script
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import wait_for
from tui.cli import main


def test_runs_restarts_a_dead_follower_and_says_so(
    tmp_path: Path,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = tmp_path / "ws"
    store = RunStore(workspace / "runs")
    with FineTuneAPI(script=Script(total_steps=40, checkpoint_every=10)) as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
        backend = OpenAIBackend(
            HostedSettings(base_url=emulator.base_url, timeout_s=5.0),
            secret=emulator.api_key,
            start_followers=False,
        )
        spec = RunSpec(backend="openai", model="gpt-4o-mini-2024-07-18", dataset=str(dataset))
        folder = backend.launch(spec, store)
        first = start_follower(folder, secret=emulator.api_key)
        wait_for(lambda: len(folder.load_metrics()) >= 4)
        first.send_signal(signal.SIGKILL)  # kill -9: nobody mirrors the job any more
        first.wait()
        assert not follower_alive(folder)

        assert main(["--workspace", str(workspace), "runs", "--json"]) == 0
        [row] = orjson.loads(capsys.readouterr().out)
        assert row["followed"] is False and row["follower"] == "follower restarted"
        wait_for(lambda: folder.read_status().state is RunState.SUCCEEDED)
        wait_for(lambda: not follower_alive(folder))

        assert main(["--workspace", str(workspace), "runs", "--json"]) == 0
        [row] = orjson.loads(capsys.readouterr().out)
        assert row["state"] == "succeeded" and row["followed"] is None and "follower" not in row
