"""Time from launching ``finetune-tui`` in a real terminal (tmux) to its first screen.

Each run starts a fresh tmux session running the real console script in an
empty folder, polls the pane until the first screen's question is drawn, and
records the wall time. A minimal Textual app (one Static) is timed the same
way as the baseline: the floor any Textual program pays on this machine.

    python bench/startup.py [--runs 9]

Prints the median of each and the ratio. Target: finetune-tui < 0.5 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_SCREEN_TEXT = "What do you want to improve"
BASELINE_TEXT = "baseline-ready"
BASELINE_APP = """
from textual.app import App
from textual.widgets import Static
class Baseline(App):
    def compose(self):
        yield Static("baseline-ready")
Baseline().run()
"""


def time_to_text(command: str, text: str, cwd: Path, timeout: float = 20.0) -> float:
    session = f"bench{time.monotonic_ns()}"
    start = time.perf_counter()
    subprocess.run(
        [
            "tmux",
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
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if text in pane:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"{text!r} did not appear within {timeout} s")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 2
    app = shutil.which("finetune-tui") or str(Path(sys.executable).with_name("finetune-tui"))
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        script = cwd / "baseline.py"
        script.write_text(BASELINE_APP)
        # One warm-up of each so the OS file cache is equally warm for both.
        time_to_text(f"{sys.executable} {script}", BASELINE_TEXT, cwd)
        time_to_text(app, FIRST_SCREEN_TEXT, cwd)
        ours, base = [], []
        for _ in range(args.runs):
            base.append(time_to_text(f"{sys.executable} {script}", BASELINE_TEXT, cwd))
            ours.append(time_to_text(app, FIRST_SCREEN_TEXT, cwd))
    ours_median, base_median = statistics.median(ours), statistics.median(base)
    print(
        f"finetune-tui first screen: median {ours_median:.3f} s over {args.runs} runs "
        f"(min {min(ours):.3f}, max {max(ours):.3f})"
    )
    print(
        f"minimal Textual app:       median {base_median:.3f} s (min {min(base):.3f}, max {max(base):.3f})"
    )
    print(f"ratio finetune-tui / minimal Textual app: {ours_median / base_median:.2f}")
    print(f"target < 0.5 s: {'met' if ours_median < 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
