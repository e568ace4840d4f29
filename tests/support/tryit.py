"""The try-it chat's fixtures: the Evaluate stage's workdir and emulator, and a way to open the step."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from tests.support.evaluate_stage import TUNED, wait_for_workers
from tests.support.helpers import PATIENCE_S
from tui.journey import Position

TRY_IT = Position(4, 2)


async def open_try_it(pilot: Pilot, *, tuned: str = TUNED, provider: str = "openai") -> None:
    """From the first step straight to Evaluate › Try it (as the palette does), models loaded."""
    await pilot.pause()
    app = pilot.app
    app.clear_notifications()
    app.dataset_choice.train = "train.jsonl"
    app.dataset_choice.validation = "valid.jsonl"
    app.eval_choice.provider = provider
    app.eval_choice.model = app.eval_choice.model or "gpt-4o-mini"
    app.eval_choice.tuned = tuned
    app.go_to(TRY_IT)
    await pilot.pause()
    assert app.position == TRY_IT
    await wait_for_workers(pilot, "tryit-models")


async def send(
    pilot: Pilot, prompt: str, *, wait: bool = True, timeout: float = PATIENCE_S
) -> None:
    """Type ``prompt``, press Enter and (``wait``) until both panes have answered."""
    screen = pilot.app.screen
    screen.query_one("#tryit-prompt").focus()
    await pilot.press(*prompt)
    await pilot.press("enter")
    if not wait:
        return
    deadline = asyncio.get_running_loop().time() + timeout
    await pilot.pause()
    while screen.busy:
        assert asyncio.get_running_loop().time() < deadline, "no answer"
        await asyncio.sleep(0.05)
    await pilot.pause()
