"""Inspecting a dataset for callers that must stay responsive (the UI): small local files in
the caller's thread, everything else in a child process.

Starting the child costs about half a second (an interpreter, the scanner's imports, the
tokenizer), far more than scanning a file of a couple of megabytes (~40 ms, a few GIL
switches for the screen): ``inspect_for_ui`` scans those where it is called. A scan is CPU-bound: run in a thread of the UI process it would hold the GIL
and starve the screen, and a process pool cannot be forked safely from a
process that has threads. So the UI starts ``python -m backends.data.scan_process``,
which is single-threaded and free to fork its own workers, reads its progress
lines on stdout, and gets the finished ``DatasetReport`` back through a
temporary pickle file. Cancelling sends SIGTERM: the child stops reading, and
still returns the report of what it read.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

import orjson

from backends.processes import (
    exit_now,
    messages_from,
    send_to_parent,
    start_child,
    stderr_tail,
    stop_on_cancel,
)

if TYPE_CHECKING:
    from backends.data.inspector import InspectOptions
    from backends.data.report import DatasetReport
    from backends.data.scan import ProgressCallback


class ScanFailed(RuntimeError):
    """The child could not inspect the source; the message says what and where."""


IN_PROCESS_MAX_BYTES = 2 * 1024 * 1024
"""Local files up to this size (training and validation together) are scanned in the
caller's thread, unless the model is a local one (its tokenizer loads ``transformers``)."""

_CANCEL = threading.Event()
"""Set by SIGTERM in the child; installed before anything slow is imported."""


def in_child_always(options: InspectOptions) -> bool:
    """Whether data counted for these options is inspected in the scan's child whatever its
    size: a local model's, whose tokenizer loads there without torch (``torch_free``: ~1 s,
    not ~4) and none of transformers lands in the caller."""
    from backends.catalog import Provider

    return options.provider is Provider.LOCAL


def inspect_for_ui(
    source: str,
    validation: str | None,
    options: InspectOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    """The report of ``source`` (and ``validation``): here for small local files, else from a
    child process. Either way a failure is a ``ScanFailed`` whose message says what and where."""
    if not in_child_always(options) and _small_files(source, validation):
        from backends.data.sources import inspect_source

        try:
            return inspect_source(source, validation, options, progress, cancel)
        except Exception as error:  # as the child reports it: a message, never a traceback
            raise ScanFailed(_describe(error)) from None
    return inspect_in_subprocess(source, validation, options, progress, cancel)


def inspect_for_command(
    source: str,
    validation: str | None,
    options: InspectOptions,
    progress: ProgressCallback | None = None,
) -> DatasetReport:
    """The report of ``source`` (and ``validation``) for a command that waits on it (the
    shell's ``inspect``, a launch's data check): in the child where ``in_child_always``, a
    failure there being a ``ScanFailed``; else in this thread, the inspector's own errors
    raised as they are."""
    if in_child_always(options):
        return inspect_in_subprocess(source, validation, options, progress)
    from backends.data.sources import inspect_source

    return inspect_source(source, validation, options, progress)


def _small_files(source: str, validation: str | None) -> bool:
    total = 0
    for name in (source, validation):
        if not name:
            continue
        try:
            stat = os.stat(Path(name).expanduser())
        except (OSError, ValueError):
            return False  # a Hugging Face id, a missing file: the child says which
        if not S_ISREG(stat.st_mode):
            return False
        total += stat.st_size
    return total <= IN_PROCESS_MAX_BYTES


def inspect_in_subprocess(
    source: str,
    validation: str | None,
    options: InspectOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> DatasetReport:
    from backends.catalog import Provider
    from backends.data.torch_free import needs_torch

    request = {
        "source": source,
        "validation": validation,
        "options": {**asdict(options), "provider": options.provider.value},
        # Without torch a local model's tokenizer loads in ~1 s, not ~4 (torch_free).
        "torch": options.provider is Provider.LOCAL and needs_torch(options.model),
    }
    try:
        return _run_child(request, progress, cancel)
    except _RetryWithTorch:
        return _run_child({**request, "torch": True}, progress, cancel)


class _RetryWithTorch(Exception):
    """The child's tokenizer did not load with torch hidden."""


def _run_child(
    request: dict[str, Any],
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> DatasetReport:
    with tempfile.TemporaryDirectory(prefix="finetune-scan-") as folder:
        result_path = Path(folder) / "report.pickle"
        request["result"] = str(result_path)
        child = start_child("backends.data.scan_process", orjson.dumps(request).decode())
        ready = threading.Event()
        stop_on_cancel(child, cancel, ready=ready)
        error = ""
        for message in messages_from(child):
            if "ready" in message:
                ready.set()
            elif "done" in message and progress is not None:
                progress(int(message["done"]), int(message["total"]))
            elif "error" in message:
                error = str(message["error"])
            elif "needs_torch" in message:
                child.wait()
                raise _RetryWithTorch
        last = stderr_tail(child)
        code = child.wait()
        if error:
            raise ScanFailed(error)
        if code != 0 or not result_path.exists():
            why = last or f"exit status {code}"
            raise ScanFailed(f"the scan process stopped unexpectedly ({why})")
        with open(result_path, "rb") as handle:
            report: DatasetReport = pickle.load(handle)
        return report


def _main(argument: str) -> int:
    request: dict[str, Any] = orjson.loads(argument)
    if not request.get("torch", True):
        from backends.data.torch_free import hide_torch

        hide_torch()  # before transformers is imported, or it is too late

    from backends.catalog import Provider
    from backends.data.inspector import InspectOptions
    from backends.data.sources import inspect_source
    from backends.data.torch_free import NeedsTorch

    raw_options = dict(request["options"])
    raw_options["provider"] = Provider(raw_options["provider"])
    options = InspectOptions(**raw_options)
    cancel = _CANCEL

    def progress(done: int, total: int) -> None:
        send_to_parent({"done": done, "total": total})

    try:
        report = inspect_source(request["source"], request["validation"], options, progress, cancel)
    except NeedsTorch:
        send_to_parent({"needs_torch": True})
        return 3
    except Exception as error:  # every failure becomes a message for the UI, never a traceback
        send_to_parent({"error": _describe(error)})
        return 1
    tmp = request["result"] + ".tmp"
    with open(tmp, "wb") as handle:
        pickle.dump(report, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, request["result"])
    return 0


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    return str(error) or type(error).__name__


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: _CANCEL.set())
    send_to_parent({"ready": True})
    exit_now(_main(sys.argv[1]))
