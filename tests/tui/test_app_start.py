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


def test_every_step_names_its_own_screen() -> None:
    for position in STEP_POSITIONS:
        assert screen_at(position).position == position, position.step_info.screen
