"""Exporting in a child process, for callers that must stay responsive (the UI, the CLI).

    python -m backends.local.export_process RUN_DIR KIND QUANT NAME [--force]

Checks the plan first (a refusal costs no torch import), then starts this
module, reads its JSON-lines progress (``{"status"}``, then ``{"done"}`` with
the result, or ``{"error", "refused"}``) and returns the ``ExportResult``.
The child's stderr (library warnings, a traceback) is appended to the run's
``log.txt``, and so are its progress lines. Cancelling sends SIGTERM: the
child stops and its partial folder is removed.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from backends.backend import BackendError
from backends.files import keep_private
from backends.local.export import (
    ExportCheck,
    ExportFailed,
    ExportRefused,
    ExportResult,
    PromptAgreement,
    plan_export,
    run_export,
)
from backends.local.launch import worker_env
from backends.local.merge_process import describe_failure
from backends.processes import (
    exit_now,
    messages_from,
    send_to_parent,
    start_child,
    stop_on_cancel,
)
from backends.runs import RunFolder

MODULE = "backends.local.export_process"


class _Stopped(BaseException):
    """SIGTERM in the child: unwind (removing the partial folder) and exit."""


def export_in_subprocess(
    folder: RunFolder,
    kind: str,
    *,
    quant: str | None = None,
    name: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Export ``folder`` in a child process; raises ``ExportRefused`` / ``ExportFailed``."""
    plan = plan_export(folder, kind, quant=quant, name=name, force=force)
    args = [str(folder.path), plan.kind, plan.quant, plan.name] + (["--force"] if force else [])
    with open(folder.log_txt, "ab") as log:
        child = start_child(MODULE, *args, stderr=log, env=worker_env())
    stop_on_cancel(child, cancel)
    result: ExportResult | None = None
    error, hint, refused = "", "", False
    for message in messages_from(child):
        if "status" in message and progress is not None:
            progress(str(message["status"]))
        elif "done" in message:
            result = _result_from(message)
        elif "error" in message:
            error, refused = str(message["error"]), bool(message.get("refused"))
            hint = str(message.get("hint") or "")
    code = child.wait()
    if result is not None:
        return result
    if cancel is not None and cancel.is_set():
        raise ExportFailed(f"Export of run {folder.run_id} cancelled; nothing was written.")
    if refused:
        raise ExportRefused(error, hint=hint)
    raise ExportFailed(
        error or f"The export process of run {folder.run_id} stopped unexpectedly (exit {code}).",
        hint=hint or f"Details in {folder.log_txt}.",
    )


def _result_from(message: dict[str, Any]) -> ExportResult:
    check = None
    raw = message.get("check")
    if isinstance(raw, dict):
        prompts = tuple(
            PromptAgreement(
                int(p["index"]),
                tuple(p["expected"]),
                tuple(p["got"]),
                bool(p["prompt_matches"]),
                str(p["expected_text"]),
                str(p["got_text"]),
            )
            for p in raw["prompts"]
        )
        check = ExportCheck(str(raw["runtime"]), prompts, str(raw["source"]))
    return ExportResult(
        str(message["kind"]),
        Path(str(message["done"])),
        [str(c) for c in message.get("commands", [])],
        [str(n) for n in message.get("notes", [])],
        check,
    )


def _message_of(result: ExportResult) -> dict[str, object]:
    check = result.check
    return {
        "done": str(result.path),
        "kind": result.kind,
        "commands": result.commands,
        "notes": result.notes,
        "check": None
        if check is None
        else {
            "runtime": check.runtime,
            "source": check.source,
            "prompts": [
                {
                    "index": p.index,
                    "expected": list(p.expected),
                    "got": list(p.got),
                    "prompt_matches": p.prompt_matches,
                    "expected_text": p.expected_text,
                    "got_text": p.got_text,
                }
                for p in check.prompts
            ],
        },
    }


def _main(run_dir: Path, kind: str, quant: str, name: str, force: bool) -> int:
    import traceback

    folder = RunFolder(run_dir)

    def say(text: str) -> None:
        folder.log(f"Export: {text}")
        send_to_parent({"status": text})

    try:
        plan = plan_export(folder, kind, quant=quant, name=name, force=force)
        say(f"exporting {folder.run_id} as {kind} ({name}).")
        result = run_export(plan, progress=say)
    except ExportRefused as error:
        send_to_parent({"error": error.message, "refused": True, "hint": error.hint})
        return 2
    except _Stopped:
        folder.log("Export cancelled; nothing was written.")
        return 1
    except BackendError as error:
        folder.log(f"Export failed: {error}")
        send_to_parent({"error": error.message, "hint": error.hint})
        return 1
    except BaseException as error:  # everything ends in a message a person can read
        traceback.print_exc(file=sys.stderr)
        message = describe_failure(error).replace("merge", "export").replace("merging", "exporting")
        folder.log(f"Export failed: {message}")
        send_to_parent({"error": message})
        return 1
    send_to_parent(_message_of(result))
    return 0


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stopped


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    force = "--force" in args
    rest = [a for a in args if a != "--force"]
    if len(rest) != 4:
        print(f"usage: python -m {MODULE} RUN_DIR KIND QUANT NAME [--force]", file=sys.stderr)
        return 2
    keep_private()
    signal.signal(signal.SIGTERM, _stop)
    return _main(Path(rest[0]), rest[1], rest[2], rest[3], force)


if __name__ == "__main__":
    exit_now(main())
