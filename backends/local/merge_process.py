"""Merging in a child process, for callers that must stay responsive (the UI, the CLI).

    python -m backends.local.merge_process RUN_DIR [--force]

Loading and merging a model is CPU-heavy: in a thread of the UI process it
would hold the GIL and starve the screen. ``merge_in_subprocess`` checks the
run first (a refusal costs no torch import), then starts this module, reads
its progress lines (JSON on stdout) and returns the ``MergeResult``. The
child's stderr (library warnings, a traceback if something unexpected
happens) is appended to the run's ``log.txt``; its progress lines go there
too, so the Monitor's log tail shows them. Cancelling sends SIGTERM: the
child stops, and its partial folder is removed (``output/merged/`` is never
half-written).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from backends.backend import BackendError
from backends.files import keep_private
from backends.local.launch import worker_env
from backends.local.merge import MergeRefused, MergeResult, merge_run, plan_merge
from backends.processes import (
    exit_now,
    messages_from,
    send_to_parent,
    start_child,
    stop_on_cancel,
)
from backends.runs import RunFolder

MODULE = "backends.local.merge_process"


class MergeFailed(BackendError):
    """The merge started but did not finish; the message says why, ``log.txt`` has the details."""


class _Stopped(BaseException):
    """SIGTERM in the child: unwind (removing the partial folder) and exit."""


def merge_in_subprocess(
    folder: RunFolder,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> MergeResult:
    """Merge ``folder``'s adapter in a child process; raises ``MergeRefused`` / ``MergeFailed``."""
    plan_merge(folder, force=force)  # refuse here, fast, before starting anything
    args = [str(folder.path)] + (["--force"] if force else [])
    with open(folder.log_txt, "ab") as log:
        child = start_child(MODULE, *args, stderr=log, env=worker_env())
    stop_on_cancel(child, cancel)
    result: MergeResult | None = None
    error = ""
    refused = False
    for message in messages_from(child):
        if "status" in message and progress is not None:
            progress(str(message["status"]))
        elif "done" in message:
            result = MergeResult(Path(message["done"]), message["dtype"], message["reason"])
        elif "error" in message:
            error, refused = str(message["error"]), bool(message.get("refused"))
    code = child.wait()
    if result is not None:
        return result
    if cancel is not None and cancel.is_set():
        raise MergeFailed(f"Merge of run {folder.run_id} cancelled; nothing was written.")
    if refused:
        raise MergeRefused(error)
    raise MergeFailed(
        error or f"The merge process of run {folder.run_id} stopped unexpectedly (exit {code}).",
        hint=f"Details in {folder.log_txt}.",
    )


def _emit(**message: object) -> None:
    send_to_parent(message)


def describe_failure(error: BaseException) -> str:
    """A person's explanation of an unexpected merge failure (never a traceback)."""
    if isinstance(error, BackendError):
        return str(error)
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, MemoryError) or "out of memory" in text.lower():
        return (
            "Out of memory while merging: the base model is loaded whole in 16-bit (about 2 bytes "
            "per parameter) on the CPU. Close other programs or merge on a machine with more RAM."
        )
    if isinstance(error, OSError) and error.filename:
        return f"Cannot write or read {error.filename}: {error.strerror or error}"
    return f"The merge failed: {text[:300]}"


def _main(run_dir: Path, force: bool) -> int:
    import traceback

    folder = RunFolder(run_dir)

    def say(text: str) -> None:
        folder.log(f"Merge: {text}")
        _emit(status=text)

    try:
        plan = plan_merge(folder, force=force)
        say(f"merging the adapter of {folder.run_id} into {plan.model}.")
        result = merge_run(plan, progress=say)
    except MergeRefused as error:
        _emit(error=str(error), refused=True)
        return 2
    except _Stopped:
        folder.log("Merge cancelled; nothing was written.")
        return 1
    except BaseException as error:  # everything ends in a message a person can read
        traceback.print_exc(file=sys.stderr)
        message = describe_failure(error)
        folder.log(f"Merge failed: {message}")
        _emit(error=message)
        return 1
    _emit(done=str(result.path), dtype=result.dtype, reason=result.reason)
    return 0


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stopped


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    force = "--force" in args
    paths = [a for a in args if a != "--force"]
    if len(paths) != 1:
        print(f"usage: python -m {MODULE} RUN_DIR [--force]", file=sys.stderr)
        return 2
    keep_private()
    signal.signal(signal.SIGTERM, _stop)
    return _main(Path(paths[0]), force)


if __name__ == "__main__":
    exit_now(main())
