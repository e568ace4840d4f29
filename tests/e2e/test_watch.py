"""``finetune-tui watch RUN`` in a real terminal (tmux): attach, detach, re-attach, cancel."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from backends.runs.values import RunState
from tests.support.helpers import PATIENCE_S, wait_for
from tests.support.terminal import Terminal

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]
STEP_RE = re.compile(r"step ([\d,]+) / 100,000")


def shown_step(screen: str) -> int:
    found = STEP_RE.search(screen)
    assert found, screen
    return int(found.group(1).replace(",", ""))


def test_watch_detach_reattach_and_cancel(in_tmp: Path, start_worker) -> None:
    folder, child = start_worker("--interval", "0.02")
    command = (
        f"PYTHONPATH={ROOT} {sys.executable} -m tui --workspace .finetune watch {folder.run_id[:20]}"
        "; echo EXITED-$?; sleep 30"
    )
    terms: list[Terminal] = []
    try:
        first = Terminal(f"ftui-watch-{in_tmp.name}-1", in_tmp, command, (120, 40))
        terms.append(first)
        first.wait_for("RUNNING")
        seen = shown_step(first.wait_for("/ 100,000"))
        first.keys("Escape")  # detach: the app quits, the run goes on
        first.wait_for("EXITED-0")
        assert child.poll() is None

        wait_for(lambda: len(folder.load_metrics()) > seen + 20)
        second = Terminal(f"ftui-watch-{in_tmp.name}-2", in_tmp, command, (80, 24))
        terms.append(second)
        second.wait_for("RUNNING")
        again = shown_step(second.wait_for("/ 100,000"))
        assert again > seen + 20  # the whole history, then live

        second.keys("c")
        second.wait_for("Cancel this run?")
        second.keys("y")
        second.wait_for("CANCELLED")
        assert child.wait(timeout=PATIENCE_S) == 0
        assert folder.read_status().state is RunState.CANCELLED
        second.keys("Escape")
        second.wait_for("EXITED-0")
    finally:
        for term in terms:
            term.close()
        if child.poll() is None:
            child.kill()
