"""What watching a run costs: the monitor's CPU while a run logs, and the time to open a long one.

1. CPU. A writer process appends 10 points a second to a local run folder
   (plus a log line a second and a heartbeat), the way a training worker
   does, while the real ``finetune-tui watch RUN`` shows it in a real
   terminal (tmux, 120x40). The app process's CPU time (user + system, from
   ``/proc``) over ``--seconds`` is printed as % of one core, next to two
   baselines measured in the same run: the same app idle on the first
   Decide screen, and the monitor of a finished run (nothing appended).
   Target: under 5 % of one core.
2. Opening. Time from starting ``finetune-tui watch`` to the monitor showing
   the last step, for a 100,000-point run and, as the baseline, a 100-point
   one (both include starting Python and Textual). Target: under 1 s.

    python bench/monitor_cpu.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backends.runs import RunFolder, RunStatus, RunStore  # noqa: E402
from backends.runs.values import MetricPoint, RunSpec, RunState  # noqa: E402

WRITER = """
import math, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from backends.runs.values import MetricPoint
from backends.runs import RunFolder
folder = RunFolder(Path({path!r}))
folder.update_status(pid=__import__("os").getpid())
step, started, next_at = {first}, time.time(), time.monotonic()
while True:
    step += 1
    valid = 0.5 + 2 / math.sqrt(step) if step % 50 == 0 else None
    folder.append_metric(MetricPoint(step=step, train_loss=0.4 + 2 / math.sqrt(step),
        valid_loss=valid, learning_rate=2e-4, tokens_per_s=3100.0, total_steps=5_000,
        elapsed=time.time() - started, time=time.time()))
    if step % 10 == 0:
        folder.log(f"step {{step}}: loss {{0.4 + 2 / math.sqrt(step):.4f}}")
    if step % 50 == 0:
        folder.heartbeat()
    next_at += 0.1
    time.sleep(max(0.0, next_at - time.monotonic()))
"""


def make_run(store: RunStore, points: int, *, state: RunState) -> RunFolder:
    spec = RunSpec(backend="local", model="HuggingFaceTB/SmolLM2-135M-Instruct", dataset="d.jsonl")
    folder = store.create(spec)
    now = time.time()
    batch = [
        MetricPoint(
            step=step,
            train_loss=0.4 + 2 / math.sqrt(step),
            valid_loss=0.5 + 2 / math.sqrt(step) if step % 50 == 0 else None,
            learning_rate=2e-4,
            tokens_per_s=3100.0,
            total_steps=max(points, 5_000 if state is RunState.RUNNING else points),
            elapsed=step * 0.1,
        )
        for step in range(1, points + 1)
    ]
    folder.append_metrics(batch)
    folder.log(*(f"line {i}" for i in range(200)))
    folder.write_status(
        RunStatus(
            state=state,
            created_at=now,
            started_at=now - points * 0.1,
            ended_at=None if state is RunState.RUNNING else now,
            heartbeat_at=now,
        )
    )
    return folder


class Pane:
    """One tmux session running ``command``; its pane's pid is the app's (``exec``)."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.session = f"monbench{time.monotonic_ns()}"
        self.started = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.session,
                "-x",
                "120",
                "-y",
                "40",
                "-c",
                str(cwd),
                f"exec {command}",
            ],
            check=True,
        )
        pid = subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.session, "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.pid = int(pid)

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True
        ).stdout

    def wait_for(self, needle: str, timeout: float = 30.0) -> float:
        while time.perf_counter() - self.started < timeout:
            if needle in self.text():
                return time.perf_counter() - self.started
            time.sleep(0.005)
        raise TimeoutError(f"{needle!r} did not appear; the screen was:\n{self.text()}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def app_command(workspace: Path, *args: str) -> str:
    return f"env PYTHONPATH={ROOT} {sys.executable} -m tui --workspace {workspace} {' '.join(args)}"


def cpu_percent(pane: Pane, ready: str, seconds: float) -> float:
    pane.wait_for(ready)
    time.sleep(2.0)  # let the first screen settle
    start_cpu, start = pane.cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return 100 * (pane.cpu_seconds() - start_cpu) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        store = RunStore(cwd / "ws" / "runs")
        live = make_run(store, 1000, state=RunState.RUNNING)
        done = make_run(store, 1000, state=RunState.SUCCEEDED)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(live.path), first=1000)]
        )
        results: dict[str, float] = {}
        try:
            for label, command, ready in (
                ("idle app, first Decide screen", app_command(cwd / "idle"), "Use case"),
                (
                    "monitor, finished run",
                    app_command(cwd / "ws", "watch", done.run_id),
                    "SUCCEEDED",
                ),
                (
                    "monitor, run logging 10 points/s",
                    app_command(cwd / "ws", "watch", live.run_id),
                    "RUNNING",
                ),
            ):
                pane = Pane(command, cwd)
                try:
                    results[label] = cpu_percent(pane, ready, args.seconds)
                finally:
                    pane.close()
            grew = len(live.load_metrics()) - 1000
        finally:
            writer.terminate()
            writer.wait()
        print(f"CPU over {args.seconds:.0f} s, % of one core (writer appended {grew} points):")
        for label, value in results.items():
            print(f"  {label:<36} {value:5.2f} %")

        opens: dict[str, float] = {}
        for points in (100, args.history):
            folder = make_run(store, points, state=RunState.SUCCEEDED)
            pane = Pane(app_command(cwd / "ws", "watch", folder.run_id), cwd)
            try:
                opens[f"{points:,} points"] = pane.wait_for(f"steps {points:,} / {points:,}")
            finally:
                pane.close()
        print("Time to open the monitor (from the command to the last step on screen):")
        for label, value in opens.items():
            print(f"  {label:<36} {value:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
