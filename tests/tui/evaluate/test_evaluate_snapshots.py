"""The Evaluate stage at 80x24 and 120x40: setup, results, the examples tab and one example.

Deterministic: fixed data and day, the emulator's fixed answers, seeded bootstrap,
latency from a clock that stands still, no ETA on screen once finished.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.support.decisions import SIZES
from tests.support.evaluate_stage import open_setup, run_results
from tests.support.helpers import until
from tui.screens.evaluate.example import ExampleScreen


@pytest.mark.parametrize("size", SIZES)
def test_setup(snap_compare, make_app, workdir, stage_emulator, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=open_setup)


@pytest.mark.parametrize("size", SIZES)
def test_results(snap_compare, make_app, workdir, stage_emulator, still_clock, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=run_results)


@pytest.mark.parametrize("size", SIZES)
def test_results_with_the_current_fine_tune(
    snap_compare, make_app, workdir, stage_emulator, still_clock, size
) -> None:
    from tests.support.evaluate_stage import CURRENT

    async def run_before(pilot: Pilot) -> None:
        await run_results(pilot, current=CURRENT)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_examples_tab(snap_compare, make_app, workdir, stage_emulator, still_clock, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await run_results(pilot)
        pilot.app.screen.query_one("#eval-results").active = "tab-examples"
        await pilot.pause()
        pilot.app.screen.query_one("#eval-examples", DataTable).focus()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_example(snap_compare, make_app, workdir, stage_emulator, still_clock, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await run_results(pilot)
        pilot.app.screen.query_one("#eval-results").active = "tab-examples"
        await pilot.pause()
        pilot.app.screen.query_one("#eval-examples", DataTable).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ExampleScreen), "the example")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_results_with_judge(
    snap_compare, make_app, workdir, stage_emulator, still_clock, size
) -> None:
    async def run_before(pilot: Pilot) -> None:
        await run_results(pilot, judge="gpt-4.1-mini")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_setup_with_judge(snap_compare, make_app, workdir, stage_emulator) -> None:
    async def run_before(pilot: Pilot) -> None:
        from tests.support.evaluate_stage import until_priced

        await open_setup(pilot, judge="gpt-4.1-mini")
        await until_priced(pilot)
        pilot.app.screen.query_one("#eval-judge").focus()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)
