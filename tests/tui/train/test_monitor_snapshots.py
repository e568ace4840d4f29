"""The monitor and the runs list from recorded run folders, at 80x24 and 120x40, pixel for pixel.

Regenerate after an intended change with
``pytest tests/tui/train/test_monitor_snapshots.py --snapshot-update`` and look at the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from backends.runs import RunFolder, RunStore
from tests.support.runs import (
    all_kinds,
    hosted_succeeded,
    hosted_with_gaps,
    local_dpo_running,
    local_failed,
    local_overfitting,
    local_running,
    local_succeeded,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def settled(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()


def press_then_settle(*keys: str):
    async def run_before(pilot: Pilot) -> None:
        await settled(pilot)
        await pilot.press(*keys)
        await settled(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_running_local(snap_compare, make_app, app_store: RunStore, size) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_running_dpo_loss(snap_compare, make_app, app_store: RunStore, size) -> None:
    """A DPO run opens on its loss, with its margin and reward accuracy beside the plot."""
    app = make_app(watch=local_dpo_running(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_running_dpo_reward_margins(snap_compare, make_app, app_store: RunStore, size) -> None:
    """``g`` switches the plot to DPO's reward margins, train and validation."""
    app = make_app(watch=local_dpo_running(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("g"))


@pytest.mark.parametrize("size", SIZES)
def test_running_dpo_rewards(snap_compare, make_app, app_store: RunStore, size) -> None:
    """Chosen and rejected rewards drift apart (``g`` three times)."""
    app = make_app(watch=local_dpo_running(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("g", "g", "g"))


@pytest.mark.parametrize("size", SIZES)
def test_succeeded_hosted_with_summary(snap_compare, make_app, app_store: RunStore, size) -> None:
    app = make_app(watch=hosted_succeeded(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_succeeded_hosted_with_the_followers_notes(
    snap_compare, make_app, app_store: RunStore, size
) -> None:
    """What ``runs``/``watch`` note, the monitor shows too: the last events not fetched (and how
    to fetch them), the damaged metrics lines passed over."""
    app = make_app(watch=hosted_with_gaps(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_failed_with_error(snap_compare, make_app, app_store: RunStore, size) -> None:
    app = make_app(watch=local_failed(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_overfitting_alert(snap_compare, make_app, app_store: RunStore, size) -> None:
    app = make_app(watch=local_overfitting(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_cancel_confirmation(snap_compare, make_app, app_store: RunStore, size) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("c"))


@pytest.mark.parametrize("size", SIZES)
def test_plot_toggled_smoothing_off_log_scale_last_100(
    snap_compare, make_app, app_store: RunStore, size
) -> None:
    app = make_app(watch=local_running(app_store), gpu_probe=list)
    keys = press_then_settle("s", "s", "l", "z", "z")
    assert snap_compare(app, terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES)
def test_runs_list(snap_compare, make_app, app_store: RunStore, size) -> None:
    all_kinds(app_store)
    app = make_app(gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("f5"))


def test_running_local_no_color(
    snap_compare, make_app, app_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(watch=local_overfitting(app_store), gpu_probe=list)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


def relative(folder: RunFolder) -> RunFolder:
    """The same folder by a path relative to the test's folder, so no tmp path is drawn."""
    return RunFolder(folder.path.relative_to(Path.cwd()))


@pytest.fixture
def hub_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A (fake) Hugging Face token, so the push key is offered; nothing is sent."""
    monkeypatch.setenv("HF_TOKEN", "hf_SnapshotTokenNeverShown000")


@pytest.mark.parametrize("size", SIZES)
def test_succeeded_local_offers_merge_and_push(
    snap_compare, make_app, app_store: RunStore, hub_token: None, size
) -> None:
    app = make_app(watch=relative(local_succeeded(app_store)), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_push_dialog(snap_compare, make_app, app_store: RunStore, hub_token: None, size) -> None:
    app = make_app(watch=relative(local_succeeded(app_store)), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("u"))


@pytest.mark.parametrize("size", SIZES)
def test_export_dialog(snap_compare, make_app, app_store: RunStore, hub_token: None, size) -> None:
    app = make_app(watch=relative(local_succeeded(app_store)), gpu_probe=list)
    assert snap_compare(app, terminal_size=size, run_before=press_then_settle("x"))
