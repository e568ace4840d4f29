"""The Monitor's merge and push keys on a finished tiny LoRA run, driven by a pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Log

from backends.runs import RunFolder
from tests.support.helpers import until
from tui.screens.confirm import ConfirmScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.run_output import PushChoice, PushScreen


@pytest.fixture
def no_hub_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))


def log_text(screen: MonitorScreen) -> str:
    return "\n".join(screen.query_one(Log).lines)


def _log_state(screen: MonitorScreen) -> str:
    """What the monitor's log tail saw, for a failure to say (it failed once, under load)."""
    tail = screen.follow._log
    timer = screen._timer
    return (
        f"the merge in the log (ticks {screen.ticks}, timer active "
        f"{timer is not None and timer._active.is_set()}, tail offset "
        f"{tail.offset if tail else None} of {screen.folder.log_txt.stat().st_size} bytes; "
        f"the Log's last lines: {list(screen.query_one(Log).lines)[-3:]})"
    )


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
        # The screen keeps answering meanwhile.
        await until(pilot, lambda: screen.query_one(Log) and not screen._output_busy, "the merge")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: "Merge: Loading" in log_text(screen), lambda: _log_state(screen))
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


async def test_export_key_exports_checks_and_lists_it_in_the_output_dialog(
    make_app, trained_run: RunFolder, tmp_path: Path, no_hub_token: None
) -> None:
    """x on a finished LoRA run: the dialog, a vLLM export (merge + commands + the check) in a
    child process while the screen answers, its result, and the Output dialog listing it."""
    from textual.widgets import Select

    from tui.screens.message import MessageScreen
    from tui.screens.run_output import ExportScreen

    app = make_app(tmp_path, watch=trained_run, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        assert screen.check_action("export_output", ()) is True
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        text = str(dialog.query_one(".dialog-text").render())
        assert f"Run {trained_run.run_id}: each export is checked" in text
        assert "Exports so far" not in text
        assert [str(label) for label, _ in dialog.query_one("#export-kind", Select)._options] == [
            "Merged 16-bit safetensors (output/merged/)",
            "GGUF (llama.cpp's converter)",
            "Ollama Modelfile (+ GGUF)",
            "vLLM serve commands",
        ]
        dialog.query_one("#export-kind", Select).value = "vllm"
        await pilot.click("#export-go")
        await pilot.pause()
        assert app.screen is screen
        assert screen.check_action("export_output", ()) is None  # greyed while it runs
        assert "Exporting to vllm and checking it" in _messages(app)
        # The screen keeps answering meanwhile.
        await until(pilot, lambda: not screen._output_busy, "the export")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: "Export: Replaying" in log_text(screen), "the export in the log")
        target = trained_run.output_dir / "exports" / "vllm"
        assert (target / "commands.txt").is_file() and (target / "chat_template.jinja").is_file()
        result = _messages(app)
        assert f"Exported (vllm) to {target}" in result, result
        assert "of the trained model's tokens reproduced" in result
        assert "print(reply.choices[0].message.content)" in result
        log = "\n".join(screen.query_one(Log).lines)
        assert f"Export: exporting {trained_run.run_id} as vllm (vllm)." in log
        assert "Export: Replaying the prompts through the trained model" in log
        assert screen.check_action("export_output", ()) is True

        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        body = app.screen.body
        assert f"Merged model: {trained_run.output_dir / 'merged'}" in body
        assert f"Export: {target}" in body
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("x")  # the dialog now names the exports so far
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        text = str(app.screen.query_one(".dialog-text").render())
        assert "Exports so far: merged, exports/vllm." in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
