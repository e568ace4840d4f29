"""The real ``finetune-tui`` command in a real terminal (tmux), driven by keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.support.helpers import PATIENCE_S
from tests.support.terminal import Terminal

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def terminal(tmp_path: Path):
    opened: list[Terminal] = []

    def open_terminal(size: tuple[int, int] = (80, 24), env: str = "") -> Terminal:
        command = f"{env} {sys.executable} -m tui --workspace ws; echo EXITED-$?; sleep 30"
        term = Terminal(f"ftui-{tmp_path.name}-{len(opened)}", tmp_path, command, size)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def test_walk_the_checklist_and_quit_in_a_real_terminal(terminal, tmp_path: Path) -> None:
    term = terminal(env=f"PYTHONPATH={ROOT}")
    term.wait_for("What do you want to improve")
    term.keys("Enter")
    term.wait_for("Domain knowledge")
    term.keys("Down", "Enter")
    term.wait_for("Fine-tuning's home ground")
    term.keys("C-n")
    term.wait_for("Have you tried prompting and retrieval?")
    term.keys("Escape")
    term.wait_for("What do you want to improve")
    term.keys("C-q")
    term.wait_for("EXITED-0")
    decision = orjson.loads((tmp_path / "ws" / "decision.json").read_bytes())
    assert decision["answers"]["use_case"]["category"] == "style"
    assert decision["recommendation"]["verdict"] == "try_prompting"


def test_no_color_and_a_resize_keep_it_usable(terminal) -> None:
    term = terminal(size=(120, 40), env=f"NO_COLOR=1 PYTHONPATH={ROOT}")
    term.wait_for("What do you want to improve")
    subprocess.run(
        ["tmux", "resize-window", "-t", term.session, "-x", "80", "-y", "24"], check=True
    )
    # Redrawn for 80x24: the title, the footer and nothing wider than 80 columns.
    deadline = time.monotonic() + PATIENCE_S
    while True:
        screen = term.screen()
        lines = screen.rstrip("\n").split("\n")
        redrawn = len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        if redrawn and "1 · Use case" in screen and "^q Quit" in screen:
            break
        assert time.monotonic() < deadline, f"not redrawn at 80x24:\n{screen}"
        time.sleep(0.1)
    term.keys("F1")
    term.wait_for("finetune-tui help")
    term.keys("Escape")
    term.keys("C-q")
    term.wait_for("EXITED-0")


def test_the_journeys_first_half_by_keys_in_a_real_terminal(terminal, tmp_path: Path) -> None:
    """Decide (Enter moves on, never back) → F3 sample → its report → Backend, arrows choose."""
    term = terminal(env=f"PYTHONPATH={ROOT}")
    term.wait_for("What do you want to improve")
    term.keys("Enter")
    term.wait_for("Domain knowledge")
    term.keys("Down", "Enter")
    term.wait_for("Fine-tuning's home ground")
    # Each field is typed into once the focus marker shows it there: Textual hands keys that
    # arrive in one burst with a Tab to the widget focused before the Tab.
    term.keys("Tab")
    term.wait_for("▸ What and why")
    subprocess.run(["tmux", "send-keys", "-t", term.session, "-l", "Replies vary"], check=True)
    term.keys("Tab")
    term.wait_for("▸ Model used today")
    subprocess.run(["tmux", "send-keys", "-t", term.session, "-l", "gpt-4o-mini"], check=True)
    term.keys("Enter")  # the next field, never Back
    term.wait_for("▸ Quality you need")
    subprocess.run(["tmux", "send-keys", "-t", term.session, "-l", "90"], check=True)
    screen = term.wait_for("90")
    assert "Model used today      gpt-4o-mini" in screen
    term.keys("Enter")  # Enter on the last field is Next
    term.wait_for("Have you tried prompting and retrieval?")
    for title in (
        "Can your model be tuned",
        "What would fine-tuning gain",
        "Should you fine-tune?",
    ):
        term.keys("C-n")
        term.wait_for(title)
    term.keys("C-n")
    term.wait_for("Which data will you train on?")
    term.keys("F3")
    term.wait_for("chainline_train.jsonl")  # the sample's files, their names shown
    term.keys("C-n")
    term.wait_for("Ready to train")
    # The report's tabs take focus once they are mounted, just after "Ready to train" is
    # drawn: a Right pressed in between reaches nothing, so press again until a tab moves.
    term.press_until("Right", "Level")
    term.keys("C-n")
    term.wait_for("Where will the model be trained?")
    screen = term.wait_for("▐●▌ OpenAI")
    assert "▐○▌ Azure OpenAI" in screen
    term.keys("Down")
    term.wait_for("▐●▌ Azure OpenAI")
    term.keys("C-q")
    term.wait_for("EXITED-0")
