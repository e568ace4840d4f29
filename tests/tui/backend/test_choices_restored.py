"""After a restart: the Dataset and Backend choices come back (never a key), every step is in the
command palette, and a damaged choices file is kept aside and explained."""

from __future__ import annotations

from pathlib import Path

import orjson
from textual.widgets import Input

from backends.catalog import Provider
from tests.support.backend_stage import scan_and_enter_backend, settle
from tests.support.helpers import palette_run, until
from tui.screens.backend import BackendSettingsScreen
from tui.screens.dataset.pick import DatasetPickScreen
from tui.screens.message import MessageScreen

SECRET = "sk-typed-in-memory-0123456789"


async def test_choices_survive_a_restart_and_every_step_is_in_the_palette(
    make_app, workdir
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot, provider=Provider.LOCAL, model="tiny-model")
        app.backend_choice.secret = SECRET
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, BackendSettingsScreen)
        app.screen.query_one("#local-batch_size", Input).value = "2"
        await pilot.pause()
        await pilot.press("ctrl+q")
    saved = (workdir / ".finetune" / "choices.json").read_bytes()
    assert SECRET.encode() not in saved and b"secret" not in saved
    assert orjson.loads(saved)["dataset"]["validation"] == "valid.jsonl"

    again = make_app()
    async with again.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        # A step never visited in this session is in the palette.
        await palette_run(pilot, "pick data", "Dataset 1")
        await until(pilot, lambda: isinstance(again.screen, DatasetPickScreen), "the Dataset step")
        screen = again.screen
        assert isinstance(screen, DatasetPickScreen)
        assert screen.query_one("#train-path", Input).value == "train.jsonl"
        assert screen.query_one("#validation-path", Input).value == "valid.jsonl"
        await palette_run(pilot, "backend 2", "Backend 2")
        await settle(pilot)
        screen = again.screen
        assert isinstance(screen, BackendSettingsScreen)
        assert again.backend_choice.backend == "local" and not again.backend_choice.secret
        assert screen.query_one("#local-model", Input).value == "tiny-model"
        assert screen.query_one("#local-batch_size", Input).value == "2"


async def test_a_damaged_choices_file_is_kept_aside_and_explained(make_app, workdir) -> None:
    choices = workdir / ".finetune" / "choices.json"
    choices.parent.mkdir(exist_ok=True)
    choices.write_text('{"schema_version": 1, "backend": {"local": {"batch_size": "four"}}}')
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        dialogs = [s for s in app.screen_stack if isinstance(s, MessageScreen)]
        assert dialogs, "the damaged file is explained"
        body = dialogs[0].body
        assert "backend.local.batch_size" in body and "choices.json.bad" in body
        assert Path(choices.with_name("choices.json.bad")).read_text().count("four") == 1
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await settle(pilot)
    assert orjson.loads(choices.read_bytes())["schema_version"] == 1
