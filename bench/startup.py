"""Time from launching ``finetune-tui`` in a real terminal (tmux) to its first screen.

Each run starts a fresh tmux session (a private tmux server, 80x24) running the
command in an empty folder, polls the pane until the first screen's question is
drawn, and records the wall time. A minimal Textual app (Header + Static +
Footer) is timed the same way, interleaved, as the baseline: the floor any
Textual program pays on this machine. Only the ratio means anything on a busy
machine.

    python bench/startup.py [--runs 9] [--before DIR]

The project is timed in an empty folder (a first start) and in a folder with a saved
decision and saved choices (a returning user: the wizard restores them), each to its first
frame (the question drawn); the first start also to its fields (the form's last hint drawn:
the fields are mounted right after the first frame).

``--before DIR`` also times another checkout of the project (e.g. ``git worktree add
/tmp/before HEAD~3``) in the same run, so a change is measured against its baseline.
The project is started as ``python -m tui`` with ``PYTHONPATH`` set to the checkout
(what the ``finetune-tui`` console script runs), its bytecode compiled first as ``pip
install`` compiles it (``checkouts.compile_like_pip``). Prints the medians and the ratios to
the minimal app. Targets: ratio <= 1.5 (goal 1.2).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkouts import compile_like_pip

FIRST_SCREEN_TEXT = "What do you want to improve"
FIELDS_TEXT = "Share of answers that must be acceptable"
"""The last hint of the first screen's form: its fields are all drawn."""
BASELINE_TEXT = "baseline-ready"
BASELINE_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static
class Baseline(App):
    def compose(self):
        yield Header()
        yield Static("baseline-ready")
        yield Footer()
Baseline().run()
"""
TMUX = ["tmux", "-L", f"finetune-bench-{os.getpid()}"]
"""A private tmux server: its environment is this process's, not another session's."""


def time_to_text(command: str, text: str, cwd: Path, timeout: float = 20.0) -> float:
    session = f"bench{time.monotonic_ns()}"
    start = time.perf_counter()
    subprocess.run(
        [
            *TMUX,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            "-c",
            str(cwd),
            command,
        ],
        check=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            pane = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if text in pane:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"{text!r} did not appear within {timeout} s")
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)


def write_returning_workspace(folder: Path) -> None:
    """A saved decision and saved Dataset/Backend choices, as a second start finds them."""
    from datetime import datetime, timezone

    from backends.choices import save_choices
    from backends.decision import Answers, UseCaseCategory, recommend, save_decision
    from backends.workspace import Workspace
    from tui.state import BackendChoice, DatasetChoice

    workspace = Workspace.at(folder / ".finetune")
    answers = Answers()
    answers.use_case.category = UseCaseCategory.STYLE
    answers.use_case.current_model = "gpt-4o-mini"
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    save_decision(workspace, answers, recommend(answers, today=now.date()), now=now)
    dataset = DatasetChoice.from_answers(answers)
    dataset.train = "train.jsonl"
    save_choices(
        workspace,
        {"dataset": dataset.to_saved(), "backend": BackendChoice(backend="together").to_saved()},
    )


def project_command(checkout: Path) -> str:
    """Start the project of ``checkout`` as the console script does."""
    return f"env PYTHONPATH={shlex.quote(str(checkout))} {shlex.quote(sys.executable)} -m tui"


def describe(name: str, times: list[float]) -> str:
    return (
        f"{name:<40} median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", type=Path, help="another checkout, timed in the same run")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(here))
    checkouts = {"finetune-tui": here}
    if args.before is not None:
        checkouts["before (--before)"] = args.before.resolve()
    commands: dict[str, tuple[str, str, str]] = {}
    for label, checkout in checkouts.items():
        commands[f"{label} first start"] = (project_command(checkout), FIRST_SCREEN_TEXT, "new")
        commands[f"{label} first start, fields"] = (project_command(checkout), FIELDS_TEXT, "new")
        commands[f"{label} returning user"] = (
            project_command(checkout),
            FIRST_SCREEN_TEXT,
            "returning",
        )
    for checkout in checkouts.values():
        compile_like_pip(checkout)
    times: dict[str, list[float]] = {name: [] for name in ["minimal Textual app", *commands]}
    # A session that lives for the whole bench keeps the private server up between runs.
    subprocess.run([*TMUX, "new-session", "-d", "-s", "keep", "cat"], check=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            folders = {"new": Path(folder) / "new", "returning": Path(folder) / "returning"}
            for path in folders.values():
                path.mkdir()
            write_returning_workspace(folders["returning"])
            script = Path(folder) / "baseline.py"
            script.write_text(BASELINE_APP)
            commands["minimal Textual app"] = (f"{sys.executable} {script}", BASELINE_TEXT, "new")

            def timed(name: str) -> float:
                command, text, where = commands[name]
                if where == "new":  # a first start every time: what the last run saved goes
                    shutil.rmtree(folders["new"] / ".finetune", ignore_errors=True)
                return time_to_text(command, text, folders[where])

            # One warm-up of each so the OS file cache is equally warm for all.
            for name in commands:
                timed(name)
            order = list(commands)
            for run in range(args.runs):
                # A different order each run: no command always goes first.
                for name in order[run % len(order) :] + order[: run % len(order)]:
                    times[name].append(timed(name))
    finally:
        subprocess.run([*TMUX, "kill-server"], capture_output=True)
    base = statistics.median(times["minimal Textual app"])
    for name, measured in times.items():
        print(describe(name, measured))
    for name in commands:
        if name != "minimal Textual app":
            print(
                f"ratio {name} / minimal Textual app: {statistics.median(times[name]) / base:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
