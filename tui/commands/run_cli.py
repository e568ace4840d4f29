"""Shell plumbing the run commands share: the run store, stderr, launching, following a run folder.

``start_run`` turns a launch into an exit status (the run id on stdout, then
follow the run unless ``--detach``); ``print_until_done`` prints a run's log,
metrics and state from its folder until the run ends: 0 succeeded, 1 not.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any


def err(message: str) -> None:
    print(message, file=sys.stderr)


class CommandRefused(Exception):
    """A command cannot go on: ``tui.cli`` prints the message and exits with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def store_of(args: argparse.Namespace) -> Any:
    """The workspace's run store; ``CommandRefused`` when ``runs/`` (or the workspace) is a file."""
    from backends.runs import RunStore
    from backends.workspace import Workspace

    store = RunStore.of(Workspace.at(args.workspace))
    problem = store.problem()
    if problem:
        raise CommandRefused(f"The workspace cannot hold runs: {problem}")
    return store


def find_run(args: argparse.Namespace) -> Any:
    """The run ``args.run`` names (id, unique prefix, or its folder in ``runs/``), or ``None``.

    The one check every command taking RUN goes through: a name that cannot be a run
    here (empty, ``..``, a link out of ``runs/``) and a run whose files cannot be read
    are refused on stderr with the reason.
    """
    try:
        folder = store_of(args).find(args.run)
    except KeyError as error:
        err(str(error.args[0]))
        return None
    problem = folder.problem()
    if problem:
        err(f"Run {folder.run_id} is unreadable: {problem}")
        return None
    return folder


def report_problems(problems: Iterable[Any]) -> bool:
    """Print each ``Problem`` to stderr; ``True`` when one of them is fatal."""
    problems = list(problems)
    for problem in problems:
        err(f"{'error' if problem.fatal else 'note'}: {problem.message}")
    return any(p.fatal for p in problems)


def refuse_or_go(backend: Any, spec: Any) -> tuple[int | None, Any]:
    """``backends.preflight`` before anything is uploaded or started: print what it found.

    Returns the exit status, ``1`` when the data has errors (the inspection's first findings
    are printed), ``2`` for any other refusal (settings, model, key), ``None`` to go on; and
    the spec to launch (a data file the backend converted replaced by the new file).
    """
    from backends.preflight import preflight

    checked = preflight(backend, spec)
    spec = checked.spec or spec
    report_problems(checked.problems)
    if checked.data_blocked:
        err(f"Nothing was uploaded or started. Every finding: finetune-tui inspect {spec.dataset}")
        return 1, spec
    return (2 if checked.blocked else None), spec


def start_run(
    launch: Callable[[], Any],
    args: argparse.Namespace,
    follow: Callable[[Any], int],
    *,
    failed: int,
) -> int:
    """``launch()`` a run folder; a ``BackendError`` is printed and gives ``failed``.

    Otherwise print the run id, and return 0 with ``--detach`` or what ``follow(folder)`` returns.
    """
    from backends.backend import BackendError

    try:
        folder = launch()
    except BackendError as error:
        err(str(error))
        return failed
    except OSError as error:  # a read-only or full disk, a file where a folder should be
        from backends.files import disk_problem

        err(disk_problem(error))
        return failed
    print(folder.run_id, flush=True)
    return 0 if args.detach else follow(folder)


def print_until_done(
    folder: Any,
    *,
    interval: float,
    stopped: str,
    final_lines: Callable[[Any], Iterable[str]],
    on_status: Callable[[Any], None] | None = None,
    backlog: int | None = None,
) -> int:
    """Print ``folder``'s new log lines, metrics and state changes every ``interval`` seconds.

    ``on_status(status)`` sees each status read; at the end ``final_lines(status)``
    are printed after the error, if any. Ctrl-C prints ``stopped`` and returns 0.
    ``backlog``: of what the folder already holds, print only the last lines of the log
    and the last point (a resumed run), not the whole history.
    """
    from backends.runs.store import UnreadableFile
    from backends.runs.tail import MetricsTail, TextTail
    from backends.runs.values import RunState
    from backends.runs.watch import log_backlog

    metrics, log = folder.metrics_tail(), folder.log_tail()
    printed_step = -1
    if backlog is not None:
        lines, offset = log_backlog(folder.log_txt, backlog)
        if offset:
            print(f"… earlier lines in {folder.log_txt}", flush=True)
        for line in lines:
            print(line, flush=True)
        log = TextTail(folder.log_txt, offset=offset)
        metrics = MetricsTail(folder.metrics_jsonl)
        history = metrics.read_points()
        if history:
            print(progress_line(history[-1]), flush=True)
            printed_step = max(p.step for p in history)
    last_state: RunState | None = None
    damage: str | None = None
    resets = metrics.resets
    try:
        while True:
            for line in log.read_text_lines():  # control characters made visible
                print(line, flush=True)
            points = metrics.read_points()
            if metrics.resets != resets:  # replaced (a resume trims it): its history was shown
                resets = metrics.resets
                points = [p for p in points if p.step > printed_step]
            for point in points:
                printed_step = max(printed_step, point.step)
                print(progress_line(point), flush=True)
            try:
                status = folder.effective_status()
            except UnreadableFile as error:  # say it once, then wait for the writer to mend it
                if str(error) != damage:
                    damage = str(error)
                    err(f"Unreadable: {damage}")
                time.sleep(interval)
                continue
            damage = None
            if on_status is not None:
                on_status(status)
            if status.state is not last_state:
                last_state = status.state
                print(f"[{status.state.value}] {status.detail}".rstrip(), flush=True)
            if status.state.is_terminal:
                for line in log.read_text_lines():
                    print(line, flush=True)
                if status.error:
                    err(status.error)
                note = metrics.note()
                if note:
                    err(f"note: {note}")
                for line in final_lines(status):
                    print(line, flush=True)
                return 0 if status.state is RunState.SUCCEEDED else 1
            time.sleep(interval)
    except KeyboardInterrupt:
        err(stopped)
        return 0


def progress_line(point: Any) -> str:
    parts = [f"step {point.step}" + (f"/{point.total_steps}" if point.total_steps else "")]
    for label, value in (
        ("loss", point.train_loss),
        ("valid", point.valid_loss),
        ("full valid", point.full_valid_loss),
        ("acc", point.train_mean_token_accuracy),
        ("margin", point.train_rewards_margins),
        ("reward acc", point.train_rewards_accuracies),
        ("valid margin", point.valid_rewards_margins),
        ("valid reward acc", point.valid_rewards_accuracies),
    ):
        if value is not None:
            parts.append(f"{label} {value:.4f}")
    return "  ".join(parts)


def add_objective_and_adapter(parser: argparse.ArgumentParser, *, local_only: bool) -> None:
    """``--method`` (the objective) and ``--adapter`` (the adaptation), as every command names them.

    ``--method`` still takes lora/qlora/full, its meaning before ``--adapter`` existed
    (``objective_and_adapter`` turns that into the adapter, with a notice).
    """
    from backends.registry import ADAPTERS, OBJECTIVES

    parser.add_argument(
        "--method",
        choices=(*OBJECTIVES, *ADAPTERS),
        metavar="{" + ",".join(OBJECTIVES) + "}",
        default=None,
        help="the objective: supervised (default) or dpo",
    )
    parser.add_argument(
        "--adapter",
        choices=ADAPTERS,
        default=None,
        help="the adaptation: lora (default), qlora or full"
        + ("" if local_only else "; local only, hosted providers choose it themselves"),
    )


def objective_and_adapter(args: argparse.Namespace, backend: str) -> tuple[str, str | None] | None:
    """The objective and the adapter ``args`` ask of ``backend``, or ``None`` (said on stderr).

    ``--method lora|qlora|full`` is the older spelling of ``--adapter``: it still works, with a
    one-line notice. Whether the backend takes the choice is the registry's to say.
    """
    from backends import registry
    from backends.runs.values import SUPERVISED

    objective: str | None = args.method
    adapter: str | None = args.adapter
    if objective in registry.ADAPTERS:
        if adapter is not None and adapter != objective:
            err(
                f"--method {objective} means --adapter {objective}, but --adapter {adapter} says otherwise."
            )
            return None
        err(f"--method {objective} is now --adapter {objective} (the objective stays supervised).")
        objective, adapter = None, objective
    refusal = registry.get(backend).refusal(objective=objective, adapter=adapter)
    if refusal is not None:
        err(refusal)
        return None
    return objective or SUPERVISED, adapter
