"""The first screen imports and builds only itself: other stages load when someone goes there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tui.app import STEP_POSITIONS, screen_at

ROOT = Path(__file__).resolve().parents[2]

FIRST_SCREEN = "tui.screens.decide.use_case"

OPEN_THE_WIZARD = """
import json, sys
import tui.app
from tui import cli

shown = []
run = tui.app.FinetuneApp.run

def headless(self, **_):
    async def pilot(pilot):
        await pilot.pause()
        shown.append(type(self.screen).__name__)
        self.exit()
    return run(self, headless=True, size=(80, 24), auto_pilot=pilot)

tui.app.FinetuneApp.run = headless
cli.main(["--workspace", sys.argv[1]])
print(json.dumps({"shown": shown, "modules": sorted(sys.modules)}))
"""


def open_the_wizard(workspace: Path) -> tuple[list[str], list[str]]:
    """Start ``finetune-tui`` in a fresh interpreter; the screen shown and every module loaded."""
    result = subprocess.run(
        [sys.executable, "-c", OPEN_THE_WIZARD, str(workspace)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return found["shown"], found["modules"]


def test_the_first_screen_imports_no_other_step_screen(tmp_path: Path) -> None:
    shown, modules = open_the_wizard(tmp_path / "ws")
    assert shown == ["UseCaseScreen"]
    step_modules = {
        module
        for module in modules
        if module.startswith("tui.screens.")
        and module.count(".") == 3
        and module.split(".")[2] in {"decide", "dataset", "backend", "train", "evaluate"}
    }
    assert step_modules == {FIRST_SCREEN}


def test_the_first_screen_imports_no_command_backend_or_heavy_library(tmp_path: Path) -> None:
    _, modules = open_the_wizard(tmp_path / "ws")
    # ``tui.commands`` itself is the list of command modules the CLI reads; orjson (the
    # decision file's reader, a few milliseconds) is wanted.
    unwanted = (
        "tui.commands.",
        "tui.screens.help",  # F1 loads it
        "tomllib",  # only a keymap file that exists is parsed
        "hashlib",  # only a dataset's fingerprint needs it
        "backends.registry",
        "backends.hosted",
        "backends.local",
        "backends.evaluate",
        "backends.runs",
        "backends.data",
        "openai",
        "together",
        "datasets",
        "torch",
        "transformers",
        "tiktoken",
        "textual_plotext",
    )
    loaded = [m for m in modules if m.startswith(unwanted) or m.split(".")[0] in unwanted]
    assert loaded == []


def test_a_returning_user_start_restores_without_the_run_store_or_any_backend(
    tmp_path: Path,
) -> None:
    """Saved choices are checked against the registry (names only): nothing heavier loads."""
    from datetime import datetime, timezone

    from backends.choices import save_choices
    from backends.decision import Answers, UseCaseCategory, recommend, save_decision
    from backends.workspace import Workspace
    from tui.state import BackendChoice, DatasetChoice

    workspace = Workspace.at(tmp_path / "ws")
    answers = Answers()
    answers.use_case.category = UseCaseCategory.STYLE
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    save_decision(workspace, answers, recommend(answers, today=now.date()), now=now)
    save_choices(
        workspace,
        {
            "dataset": DatasetChoice.from_answers(answers).to_saved(),
            "backend": BackendChoice(backend="together").to_saved(),
        },
    )
    shown, modules = open_the_wizard(tmp_path / "ws")
    assert shown == ["UseCaseScreen"]
    unwanted = (
        "tui.commands.",
        "backends.hosted",
        "backends.runs.store",
        "backends.runs.status",
        "backends.processes",
        "backends.evaluate",
        "backends.data",
        "backends.decision.rules",
        "openai",
        "together",
        "torch",
        "transformers",
    )
    assert [m for m in modules if m.startswith(unwanted) or m.split(".")[0] in unwanted] == []


def test_every_step_names_its_own_screen() -> None:
    for position in STEP_POSITIONS:
        assert screen_at(position).position == position, position.step_info.screen


async def test_the_opening_step_draws_its_frame_then_mounts_its_fields(
    make_app, monkeypatch
) -> None:
    from textual.widgets import Select, Static

    from tests.support.helpers import until
    from tui.screens.decide import UseCaseScreen
    from tui.screens.step import StepScreen

    before_fields: list[str] = []
    mount_form = StepScreen._mount_form

    async def record_then_mount(self: StepScreen) -> None:
        # Called after the first frame: what the person sees before the fields arrive.
        title = str(self.query_one("#step-title", Static).render())
        before_fields.append(f"{title} | {len(self.query_one('#form').children)} fields")
        assert not self.form_ready
        assert self.check_action("next", ()) is None  # nothing to check yet: Next waits
        await mount_form(self)

    monkeypatch.setattr(StepScreen, "_mount_form", record_then_mount)
    app = make_app(frame_first=True)  # as in a real terminal
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await until(
            pilot,
            lambda: (
                app.screen
                if isinstance(app.screen, UseCaseScreen) and app.screen.form_ready
                else None
            ),
            "the opening step's fields",
        )
        assert len(before_fields) == 1
        assert "What do you want to improve" in before_fields[0]
        assert before_fields[0].endswith("| 0 fields")
        assert app.focused is screen.query_one("#category", Select)
        assert "Choose what you want to improve to go on." in str(
            screen.query_one("#nav-message").render()
        )


async def test_a_step_reached_by_moving_has_its_fields_at_once(make_app, monkeypatch) -> None:
    from tests.support.helpers import until
    from tui.journey import Position
    from tui.screens.step import StepScreen

    ready_at_mount: list[bool] = []
    app = make_app(frame_first=True)  # as in a real terminal
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, StepScreen) and app.screen.form_ready,
            "first step",
        )
        original = StepScreen.on_mount

        def spy(self: StepScreen) -> None:
            ready_at_mount.append(self.form_ready)
            original(self)

        monkeypatch.setattr(StepScreen, "on_mount", spy)
        app.show(Position(0, 1))
        await until(pilot, lambda: ready_at_mount, "the second step's mount")
    assert ready_at_mount == [True]


def test_steps_whose_mounting_reads_their_fields_open_with_them() -> None:
    from tui.screens.step import StepScreen

    for position in STEP_POSITIONS:
        screen = screen_at(position)
        own = [
            name
            for cls in screen.__mro__
            if issubclass(cls, StepScreen) and cls is not StepScreen
            for name in ("on_mount", "compose_body")
            if name in vars(cls)
        ]
        if own:
            assert screen.form_after_first_frame is False, (screen.__name__, own)


async def test_keys_pressed_before_the_fields_arrive_reach_them_in_order(make_app) -> None:
    from tests.support.decisions import measured_answers, write_decision
    from tests.support.helpers import until
    from tui.screens.decide import CostScreen

    write_decision(measured_answers())
    app = make_app(frame_first=True)  # as in a real terminal
    async with app.run_test(size=(80, 24)) as pilot:
        # At once, before the opening step's fields are mounted: held, then replayed.
        await pilot.press("ctrl+n", "ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, CostScreen), "two steps on")
        # The last replay's check for more comes after the next refresh: then keys go as usual.
        await until(pilot, lambda: app._held_keys is None, "the held keys all replayed")
