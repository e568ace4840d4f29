"""The Try-it step at 80x24 and 120x40 after an answer arrived (emulator answers, still clock)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.support.decisions import SIZES
from tests.support.tryit import open_try_it, send


@pytest.mark.parametrize("size", SIZES)
def test_try_it_answered(snap_compare, make_app, workdir, stage_emulator, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await open_try_it(pilot)
        await send(pilot, "Can you fit mudguards?")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_try_it_without_tuned_model(snap_compare, make_app, workdir, stage_emulator) -> None:
    async def run_before(pilot: Pilot) -> None:
        await open_try_it(pilot, tuned="")
        await send(pilot, "Can you fit mudguards?")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
