"""How fast a viewer opens and follows a run's metrics.jsonl.

    python bench/tail_speed.py [--points 100000] [--repeat 5]

Writes a realistic metrics.jsonl (train loss every step, validation every 10,
learning rate, tokens/s, epoch) into a temporary run folder, then measures:

- open: a fresh ``MetricsTail`` reading the whole history into ``MetricPoint``s
  (what the monitor does when it opens a run); best and median of --repeat;
- incremental tail: appending 10 points and reading just those (one monitor poll);
- idle poll: a poll when nothing was appended (one ``stat``);
- last point: ``RunFolder.last_metric`` (what the runs list reads per run).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.runs import RunStore
from backends.runs.values import MetricPoint, RunSpec


def point(step: int, total: int) -> MetricPoint:
    loss = 2.0 * math.exp(-3.0 * step / total) + 0.2
    return MetricPoint(
        step=step,
        train_loss=round(loss, 6),
        valid_loss=round(loss + 0.1, 6) if step % 10 == 0 else None,
        train_mean_token_accuracy=round(1 - loss / 3, 6),
        learning_rate=2e-4 * (1 - step / total),
        tokens_per_s=5123.4,
        epoch=round(3 * step / total, 5),
        total_steps=total,
        elapsed=step * 0.8,
        time=1_790_000_000 + step * 0.8,
    )


def timed(function, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--max-open-s",
        type=float,
        default=None,
        help="exit 1 when opening the history takes longer than this (best of --repeat)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs")
        folder = store.create(RunSpec(backend="local", model="bench-model", dataset="bench.jsonl"))
        start = time.perf_counter()
        chunk = 10_000
        for first in range(1, args.points + 1, chunk):
            folder.append_metrics(
                point(s, args.points) for s in range(first, min(first + chunk, args.points + 1))
            )
        write_s = time.perf_counter() - start
        size_mb = folder.metrics_jsonl.stat().st_size / 1e6

        def open_history() -> None:
            points = folder.metrics_tail().read_points()
            assert len(points) == args.points

        opens = timed(open_history, args.repeat)

        tail = folder.metrics_tail()
        tail.read_points()
        step = args.points
        increments = []
        for _ in range(200):
            folder.append_metrics(point(step + i, args.points) for i in range(1, 11))
            step += 10
            begin = time.perf_counter()
            got = tail.read_points()
            increments.append(time.perf_counter() - begin)
            assert len(got) == 10
        idle = timed(tail.read_points, 1000)
        last = timed(folder.last_metric, 200)

    print(f"metrics.jsonl: {args.points:,} points, {size_mb:.1f} MB (written in {write_s:.2f} s)")
    print(
        f"open whole history : best {min(opens) * 1e3:7.1f} ms, median {statistics.median(opens) * 1e3:7.1f} ms"
    )
    print(
        f"incremental tail   : median {statistics.median(increments) * 1e6:7.1f} us per poll of 10 new points"
    )
    print(f"idle poll          : median {statistics.median(idle) * 1e6:7.1f} us (nothing appended)")
    print(
        f"last point         : median {statistics.median(last) * 1e6:7.1f} us (reads only the file's end)"
    )
    if args.max_open_s is not None and min(opens) > args.max_open_s:
        print(f"FAIL: opening took {min(opens):.3f} s > {args.max_open_s} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
