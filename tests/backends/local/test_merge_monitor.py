"""The Monitor's merge and push keys on a finished tiny LoRA run, driven by a pilot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Log

from backends.runs import RunFolder
from tui.screens.confirm import ConfirmScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.run_output import PushChoice, PushScreen


@pytest.fixture
def no_hub_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))


def _messages(app: object) -> str:
    return "\n".join(n.message for n in app._notifications)  # type: ignore[attr-defined]


async def test_merge_key_merges_in_the_background_and_says_where(
    make_app, trained_run: RunFolder, tmp_path: Path, no_hub_token: None
) -> None:
    app = make_app(tmp_path, watch=trained_run, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        assert screen.check_action("merge_output", ()) is True
        await pilot.press("m")
        await pilot.pause()
        assert screen.check_action("merge_output", ()) is None  # greyed while it runs
        started = time.monotonic()
        while screen._output_busy and time.monotonic() - started < 120:
            await pilot.pause(0.1)  # the screen keeps answering meanwhile
            assert screen.query_one(Log) is not None
        await app.workers.wait_for_complete()
        await pilot.pause(MonitorScreen.POLL_S * 3)
        target = trained_run.output_dir / "merged"
        assert (target / "model.safetensors").is_file()
        assert f"saved in {target}" in _messages(app) and "bf16" in _messages(app)
        log = "\n".join(screen.query_one(Log).lines)
        assert "Merge: Loading the base model in bf16" in log
        assert screen.check_action("merge_output", ()) is True

        await pilot.press("m")  # merged/ exists: asks before replacing
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen

        await pilot.press("u")  # no token: push is greyed and says how to provide one
        await pilot.pause()
        assert screen.check_action("push_output", ()) is None
        assert "HF_TOKEN" in _messages(app) and "hf auth login" in _messages(app)


async def test_merge_and_push_keys_are_hidden_for_runs_without_an_adapter(
    make_app, trained_run: RunFolder, tmp_path: Path, no_hub_token: None
) -> None:
    import shutil

    shutil.rmtree(trained_run.output_dir / "adapter")
    app = make_app(tmp_path, watch=trained_run, gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("merge_output", ()) is False
        assert screen.check_action("push_output", ()) is False


async def test_push_dialog_checks_the_repo_name(
    make_app, trained_run: RunFolder, tmp_path: Path
) -> None:
    app = make_app(tmp_path, watch=trained_run, gpu_probe=list)
    chosen: list[PushChoice | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(PushScreen(trained_run.run_id, merged_available=False), chosen.append)
        await pilot.pause()
        await pilot.press(*"not a repo", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PushScreen) and not chosen
        assert "USER/NAME" in str(app.screen.query_one("#push-error").render())
        app.screen.query_one("#push-repo").value = "alice/tiny-lora"
        await pilot.press("enter")
        await pilot.pause()
        assert chosen == [PushChoice("alice/tiny-lora", merged=False, private=True)]
