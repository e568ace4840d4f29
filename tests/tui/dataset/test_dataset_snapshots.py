"""The Dataset stage's screens and tabs, at 80x24 and 120x40, on fixture datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from tests.support.dataset_stage import to_pick, wait_for_scan
from tests.support.datasets import copy_sample, write_broken
from tests.support.decisions import SIZES, complete_answers, write_decision
from tests.support.evaluate_stage import wait_for_workers


def to_report(train: str, validation: str = "", tab: str | None = None, keys: tuple[str, ...] = ()):
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        await to_pick(pilot)
        pilot.app.screen.query_one("#train-path", Input).value = train
        pilot.app.screen.query_one("#validation-path", Input).value = validation
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await wait_for_scan(pilot)
        if tab:
            pilot.app.screen.query_one("#report-tabbed", TabbedContent).active = tab
            await pilot.pause()
        await pilot.press(*keys)
        await wait_for_workers(pilot, "raw-line")

    return run_before


@pytest.fixture
def sample(in_tmp: Path) -> tuple[str, str]:
    write_decision(complete_answers())
    copy_sample(in_tmp)
    return "train.jsonl", "valid.jsonl"


@pytest.mark.parametrize("size", SIZES)
def test_pick(snap_compare, make_app, sample, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        await to_pick(pilot)
        pilot.app.screen.query_one("#train-path", Input).value = "train.jsonl"
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", ["tab-summary", "tab-tokens", "tab-cost", "tab-examples"])
def test_report_tabs(snap_compare, make_app, sample, size, tab) -> None:
    keys = ("tab", "down") if tab == "tab-examples" else ()
    run_before = to_report(*sample, tab=tab, keys=keys)
    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_report_with_errors(snap_compare, make_app, in_tmp, size) -> None:
    write_decision(complete_answers())
    write_broken(in_tmp / "broken.jsonl")
    assert snap_compare(make_app(), terminal_size=size, run_before=to_report("broken.jsonl"))


@pytest.mark.parametrize("size", SIZES)
def test_findings_tab_and_a_finding(snap_compare, make_app, in_tmp, size) -> None:
    write_decision(complete_answers())
    write_broken(in_tmp / "broken.jsonl")
    scan = to_report("broken.jsonl", tab="tab-findings")

    async def run_before(pilot: Pilot) -> None:
        await scan(pilot)
        pilot.app.screen.query_one("#findings-table").focus()
        await pilot.press("enter")
        await wait_for_workers(pilot, "raw-line")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
