"""``finetune-tui runs`` lists the workspace's runs; ``finetune-tui watch RUN`` opens one's monitor.

``watch`` is for ``ssh box -t finetune-tui watch RUN``: the app opens straight
on the monitor of that run (whole history, then live), and leaving it (Esc)
quits; the run goes on.

Exit status: 0 listed / watched, 2 no such run or bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tui.commands.run_cli import store_of

RUNS_HEADER = (
    "RUN",
    "BACKEND",
    "MODEL",
    "STATE",
    "STARTED",
    "DURATION",
    "STEP",
    "LOSS",
    "BEST VALID",
)


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="list every training run in the workspace")
    runs.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    runs.set_defaults(handler=run_runs)

    watch = subparsers.add_parser(
        "watch", help="open the live monitor of one run (id, unique id prefix, or folder)"
    )
    watch.add_argument("run", metavar="RUN")
    watch.set_defaults(handler=run_watch)


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run_runs(args: argparse.Namespace) -> int:
    import time
    from datetime import datetime

    import orjson

    from backends.runs.figures import format_duration, format_loss
    from backends.runs.table import RunTable, format_started

    store = store_of(args)
    rows = RunTable(store).rows(time.time())
    followers = catch_up(rows)
    for note in store.skipped:
        print(f"note: {note}", file=sys.stderr)
    for row in rows:
        if row.metrics_note:
            print(f"note: {row.run_id}: {row.metrics_note}", file=sys.stderr)
    if args.json:
        listed = [
            {**row.to_dict(), "follower": followers.get(row.run_id)}
            if row.run_id in followers
            else row.to_dict()
            for row in rows
        ]
        sys.stdout.write(orjson.dumps(listed, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if not rows:
        print(f"No runs in {store.root}.", file=sys.stderr)
        return 0
    tz = datetime.now().astimezone().tzinfo
    margins = any(row.last_reward_margin is not None for row in rows)
    lines = [(*RUNS_HEADER, "MARGIN") if margins else RUNS_HEADER]
    for row in rows:
        step = "-" if row.step is None else str(row.step)
        if row.step is not None and row.total_steps:
            step += f"/{row.total_steps}"
        lines.append(
            (
                row.run_id,
                row.backend,
                row.model,
                row.state_text + (f" ({followers[row.run_id]})" if row.run_id in followers else ""),
                format_started(row.started_at, tz).replace("—", "-"),
                format_duration(row.duration_s).replace("—", "-"),
                step,
                format_loss(row.last_loss).replace("—", "-"),
                "-" if row.best_valid is None else f"{row.best_valid[0]:.4f}@{row.best_valid[1]}",
            )
        )
        if margins:  # DPO runs: the last reward margin (chosen minus rejected)
            margin = row.last_reward_margin
            lines[-1] = (*lines[-1], "-" if margin is None else f"{margin:+.4f}")
    print(format_table(lines))
    return 0


def catch_up(rows: Sequence[Any]) -> dict[str, str]:
    """Restart the follower of each hosted run that has none (as ``watch`` does).

    Returns, per such run, ``follower restarted`` or ``not followed: <why and the fix>``;
    the fix is said on stderr too.
    """
    from backends.hosted.follower import ensure_follower
    from backends.text import printable_line

    notes: dict[str, str] = {}
    for row in rows:
        if row.followed is not False:
            continue
        try:
            ensure_follower(row.folder)
            notes[row.run_id] = "follower restarted"
        except Exception as error:  # credentials, a full disk: say it, keep listing
            notes[row.run_id] = "not followed"
            print(
                f"note: {row.run_id}: its follower stopped and could not be restarted "
                f"({printable_line(str(error))}); its state may be behind the job. "
                f"Fix that, then `finetune-tui watch {row.run_id}` catches up.",
                file=sys.stderr,
            )
    return notes


def run_watch(args: argparse.Namespace) -> int:
    store = store_of(args)
    try:
        folder = store.find(args.run)
    except KeyError as error:
        print(f"{error.args[0]}. List them with: finetune-tui runs", file=sys.stderr)
        return 2
    problem = folder.problem()
    if problem:  # the monitor opens all the same and says it too
        print(f"Run {folder.run_id} is unreadable: {problem}", file=sys.stderr)
    from tui.app import FinetuneApp

    app = FinetuneApp(workspace=args.workspace, watch=folder)
    app.run()
    return app.return_code or 0
