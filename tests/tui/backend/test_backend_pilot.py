"""The Backend stage driven by keys: availability, settings validation, a hosted launch, an API error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Input, RadioButton, Select, Static

from backends.local import backend as local_backend_module
from backends.runs import RunStore
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.backend_stage import (
    choose,
    scan_and_enter_backend,
    settle,
    to_launch,
    wait_until,
)
from tests.support.helpers import until
from tests.support.screen_text import screen_rows
from tui.screens.backend import BackendSettingsScreen, BackendWhereScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.train import TrainRunsScreen
from tui.widgets.run_list import RunList


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_availability_is_checked_up_front_with_reasons(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        screen = app.screen
        assert isinstance(screen, BackendWhereScreen)
        # The Cost step's provider (OpenAI) is preselected.
        assert screen.chosen() == "openai"
        openai = screen.options["openai"]
        assert not openai.ready and openai.selectable
        assert "OPENAI_API_KEY" in text(screen, "#availability-openai")
        assert "Settings step" in text(screen, "#availability-openai")
        assert "AZURE_OPENAI_ENDPOINT" in text(screen, "#availability-azure")
        assert screen.options["local"].ready
        assert "NVIDIA H100" in text(screen, "#availability-local")
        # A missing key is entered on the next step: the choice can go on.
        assert screen.problems() == []


async def test_local_without_the_extra_cannot_be_chosen(make_app, workdir, monkeypatch) -> None:
    monkeypatch.setattr(local_backend_module, "missing_packages", lambda: ["torch", "trl"])
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        screen = app.screen
        assert "missing: torch, trl" in text(screen, "#availability-local")
        assert "finetune-tui[local]" in text(screen, "#availability-local")
        assert screen.query_one("#choose-local", RadioButton).disabled


async def test_openai_after_the_wind_down_is_refused(make_app, workdir, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-shown-anywhere-123456")
    app = make_app(today=date(2027, 2, 1))
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        screen = app.screen
        assert not screen.options["openai"].selectable
        assert "no longer creates new fine-tuning jobs" in text(screen, "#availability-openai")
        assert "Azure OpenAI" in text(screen, "#availability-openai")  # the alternatives
        assert "sk-test" not in text(screen, "#availability-openai")
        assert screen.problems() == ["OpenAI cannot be used here."]
        await choose("azure")(pilot)
        assert screen.problems() == []


async def test_hosted_settings_validation(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackendSettingsScreen)
        assert screen.query_one("#hosted-model", Input).value == "gpt-4o-mini"
        assert any("OPENAI_API_KEY" in p for p in screen.problems())
        assert screen.query_one("#next-button").disabled
        screen.query_one("#api-key", Input).value = "sk-typed-in-memory-0123456789"
        await pilot.pause()
        assert screen.problems() == []
        screen.query_one("#hyper-learning_rate_multiplier", Input).value = "0"
        await pilot.pause()
        assert screen.problems() == [
            "LR multiplier: enter a number above 0, or leave blank (auto)."
        ]
        assert "LR multiplier" in text(screen, "#nav-message")
        screen.query_one("#hyper-learning_rate_multiplier", Input).value = "1.8"
        screen.query_one("#hosted-model", Input).value = ""
        await pilot.pause()
        assert screen.problems() == ["Enter the model to fine-tune."]
        # A model the catalog does not know is the provider's to judge: a hint, not a block.
        screen.query_one("#hosted-model", Input).value = "my-new-model"
        await pilot.pause()
        assert screen.problems() == []
        assert "not fine-tunable" in text(screen, "#hosted-model-hint")
        screen.query_one("#hosted-model", Input).value = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
        assert not screen.query_one("#field-beta").display
        screen.query_one("#hosted-method", Select).value = "dpo"
        await pilot.pause()
        assert screen.query_one("#field-beta").display
        assert screen.problems() == []
        await pilot.press("ctrl+n")
        await settle(pilot)
        choice = app.backend_choice
        assert choice.hosted_model.startswith("ft:") and choice.hosted_method == "dpo"
        assert choice.hyper["learning_rate_multiplier"] == "1.8"
        assert choice.secret == "sk-typed-in-memory-0123456789"
        assert "sk-typed" not in repr(choice)


async def test_local_settings_estimate_and_validation(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        await choose("local")(pilot)
        app.backend_choice.local_model = "tiny-model"
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackendSettingsScreen)
        # Max length starts at the dataset's longest example.
        longest = app.dataset_report.tokens.max
        assert screen.query_one("#local-max_length", Input).value == str(longest)
        memory = text(screen, "#memory")
        assert (
            "M parameters" in memory
            and "0.13B" not in memory
            and "GPU 0 NVIDIA H100" in memory
            and "fits" in memory
        )
        assert screen.problems() == []
        screen.query_one("#local-batch_size", Input).value = "0"
        await pilot.pause()
        assert screen.problems() and "Batch size" in screen.problems()[0]
        screen.query_one("#local-batch_size", Input).value = "2"
        screen.query_one("#local-model", Input).value = "./no-such-folder"
        await pilot.pause()
        assert "no-such-folder" in screen.problems()[0]
        screen.query_one("#local-model", Input).value = "gpt-4o-mini"
        await pilot.pause()
        assert "hosted model" in screen.problems()[0]


async def test_qlora_without_a_gpu_is_refused(make_app, workdir, monkeypatch) -> None:
    from backends.local import memory
    from backends.local.memory import GpuInventory

    monkeypatch.setattr(local_backend_module, "visible_gpus", lambda **_: GpuInventory(()))
    monkeypatch.setattr(memory, "visible_gpus", lambda **_: GpuInventory(()))
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        await choose("local")(pilot)
        app.backend_choice.local_model = "tiny-model"
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#local-adapter", Select).value = "qlora"
        await pilot.pause()
        assert any("QLoRA needs an NVIDIA GPU" in p for p in screen.problems())


async def test_hosted_launch_against_the_emulator_opens_the_monitor(
    make_app, workdir, emulator: FineTuneAPI, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    app = make_app()
    app.restart_followers = False
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await to_launch(
            pilot,
            emulator.api_key,
            metadata="team=search, ticket=ML-42",
            **{"wandb-project": "bikes"},
        )
        assert "✓ Ready to launch." in text(screen, "#launch-checks")
        assert text(screen, "#launch-price").startswith("Estimated price: $")
        # Launching costs money: it asks first.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, MonitorScreen))
        folder = screen.folder
        assert folder is not None
        status = folder.read_status()
        assert status.job_id and status.job_id in emulator.jobs
        assert folder.read_spec().model == "gpt-4o-mini-2024-07-18"
        uploaded = [f for f in emulator.files.values() if f.meta["purpose"] == "fine-tune"]
        assert len(uploaded) == 2  # training and validation (a finished job adds its results)
        job = emulator.jobs[status.job_id]
        assert job.params["metadata"]["team"] == "search"
        assert job.params["metadata"]["ticket"] == "ML-42"
        assert job.params["integrations"] == [{"type": "wandb", "wandb": {"project": "bikes"}}]
        # Detaching from the monitor lands on the Train step, the new run highlighted.
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TrainRunsScreen)
        assert app.screen.query_one(RunList).selected_row().run_id == folder.run_id
    # The key typed in memory is in no file of the workspace.
    for path in Path(".finetune").rglob("*"):
        if path.is_file():
            assert emulator.api_key.encode() not in path.read_bytes(), path


async def test_check_key_reports_in_the_form(make_app, workdir, emulator, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#api-key", Input).value = "sk-wrong-key-abcdefghijklmnop"
        await pilot.click("#check-key")
        status = await until(
            pilot,
            lambda: text(screen, "#key-status").startswith("✗") and text(screen, "#key-status"),
            "the refusal",
        )
        assert "sk-wrong" not in status
        screen.query_one("#api-key", Input).value = emulator.api_key
        # A button ignores clicks while it shows the last one (Textual's 0.2 s "-active").
        button = screen.query_one("#check-key")
        await until(pilot, lambda: not button.has_class("-active"), "the button released")
        await pilot.click("#check-key")
        await until(
            pilot, lambda: "accepted the credential" in text(screen, "#key-status"), "the check"
        )


async def test_training_not_available_is_shown_as_a_message(
    make_app, workdir, refusing_emulator: FineTuneAPI, monkeypatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", refusing_emulator.base_url)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await to_launch(pilot, refusing_emulator.api_key)
        await pilot.press("ctrl+n", "y")
        await wait_until(
            lambda: not screen.launching and "Not launched" in text(screen, "#launch-status")
        )
        status = text(screen, "#launch-status")
        assert "OpenAI refused to create the job (403)" in status and "Traceback" not in status
        assert refusing_emulator.api_key not in status
        # Among the offers, on screen once the list has been scrolled into view.
        await wait_until(lambda: "Azure OpenAI: gpt-4o-mini" in "\n".join(screen_rows(app)))
        assert app.screen is screen
        runs = RunStore.of(app.workspace).list_folders()
        assert len(runs) == 1 and runs[0].read_status().state.value == "failed"


@pytest.mark.parametrize("size", [(80, 24)])
async def test_escape_walks_back_through_the_stage(make_app, workdir, size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await scan_and_enter_backend(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BackendWhereScreen)


async def test_data_with_errors_does_not_launch_and_d_goes_back_to_the_dataset(
    make_app, workdir: Path, emulator: FineTuneAPI, monkeypatch
) -> None:
    """The report's errors block the Launch step too (``backends.preflight``): no confirmation,
    nothing uploaded, and ``d`` leads back to the Dataset report where each has its fix."""
    from tests.support.datasets import write_broken
    from tui.journey import Position

    write_broken(workdir / "train.jsonl")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await to_launch(pilot, emulator.api_key)
        checks = text(screen, "#launch-checks")
        assert "✓ Ready" not in checks and "2 errors" in checks
        assert "line 4" in checks and "line 8" in checks and "Press d" in checks
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("d")
        await settle(pilot)
        assert app.position == Position(1, 1)
    assert emulator.files == {} and emulator.jobs == {}


async def test_arrows_choose_a_backend_and_the_chosen_one_has_its_own_glyph(
    make_app, workdir
) -> None:
    """Arrows move the choice, not only a highlight; ● chosen, ○ not (#11 items 5 and 6)."""
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        screen = app.screen
        assert isinstance(screen, BackendWhereScreen)
        assert screen.chosen() == "openai"
        assert screen.focused is not None and screen.focused.id == "backend-choice"
        await pilot.press("down")
        await settle(pilot)
        assert screen.chosen() != "openai"
        glyphs = {button.id: button.render().plain[1] for button in screen.query(RadioButton)}
        assert list(glyphs.values()).count("●") == 1
        assert set(glyphs.values()) == {"○", "●"}
        assert glyphs[f"choose-{screen.chosen()}"] == "●"


async def test_left_and_right_move_between_the_confirm_buttons(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen("Cancel this run?", "It stops."), answers.append)
        await pilot.pause()
        assert app.screen.focused is not None and app.screen.focused.id == "confirm-no"
        await pilot.press("left")
        assert app.screen.focused.id == "confirm-yes"
        await pilot.press("right")
        assert app.screen.focused.id == "confirm-no"
        await pilot.press("left", "enter")
        await pilot.pause()
        assert answers == [True]


async def test_arrows_choose_at_once_and_the_checks_keep_the_pick(make_app, workdir) -> None:
    """Right after Dataset › Report: the choice has focus, starts on the carried backend, the
    arrows move from it while the checks still run, and finishing checks never reset it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_and_enter_backend(pilot)
        await pilot.press("escape")
        await settle(pilot)
        app.backend_choice.backend = "azure"
        await pilot.press("ctrl+n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BackendWhereScreen)
        assert screen.focused is screen.query_one("#backend-choice")
        assert screen.chosen() == "azure", (app.position, app.backend_choice)
        await pilot.press("up")
        assert screen.chosen() == "openai"
        await settle(pilot)
        assert screen.chosen() == "openai" and len(screen.options) > 1
        await pilot.press("down")
        assert screen.chosen() == "azure"


async def test_the_dataset_steps_local_model_carries_to_backend(make_app, workdir) -> None:
    """Local GPU and a model folder on the Dataset step: Backend starts on Local with that model,
    and a model problem names the Model field, never a command-line flag."""
    from backends.catalog import Provider

    (workdir / "not-a-model").mkdir()
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot, provider=Provider.LOCAL, model="tiny-model", walk=True)
        screen = app.screen
        assert isinstance(screen, BackendWhereScreen)
        assert screen.chosen() == "local"
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackendSettingsScreen)
        assert screen.query_one("#local-model", Input).value == "tiny-model"
        assert screen.problems() == []
        screen.query_one("#local-model", Input).value = "not-a-model"
        await pilot.pause()
        problems = " ".join(screen.problems())
        assert "no config.json" in problems and "Set the model to" in problems
        assert "--" not in problems
