"""Waiting on the Dataset stage's scan."""

from __future__ import annotations

import asyncio

from tests.support.helpers import PATIENCE_S


async def wait_for_scan(pilot, timeout: float = PATIENCE_S) -> None:
    """Until the report screen's scan ended (``workers.wait_for_complete`` would also wait
    for the file tree's loader, which runs as long as the tree exists)."""
    screen = pilot.app.screen
    deadline = asyncio.get_running_loop().time() + timeout
    while screen.scan_worker is not None and not screen.scan_worker.is_finished:
        assert asyncio.get_running_loop().time() < deadline, "the scan did not finish"
        await asyncio.sleep(0.05)
    await pilot.pause()


async def to_pick(pilot) -> None:
    """From the first step to Dataset › Pick, as the command palette goes (the Decide steps'
    own tests walk them by keys)."""
    from tests.support.helpers import until
    from tui.journey import Position
    from tui.screens.dataset.pick import DatasetPickScreen

    await pilot.pause()
    pilot.app.go_to(Position(1, 0))
    await until(pilot, lambda: isinstance(pilot.app.screen, DatasetPickScreen), "Dataset › Pick")
