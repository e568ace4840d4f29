"""The launch's data check: a local model's files are inspected in the scan's child, without
torch in it or in the caller (the UI, or the shell's train command)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backends.runs import RunStore
from tests.support.tiny_model import tiny_lora_spec, write_toy_dataset

pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]


def test_a_local_runs_data_is_checked_in_the_child_with_the_same_findings(
    tiny_model: Path, child_requests: list[dict[str, object]]
) -> None:
    from backends.catalog import Provider
    from backends.data.findings import Severity
    from backends.data.inspector import InspectOptions, inspect_file
    from backends.data.samples import sample_dataset
    from backends.preflight import data_problems

    sample = sample_dataset()
    problems = data_problems(tiny_lora_spec(tiny_model, sample.train, max_length=64))  # type: ignore[arg-type]
    assert [r["torch"] for r in child_requests] == [False]
    here = inspect_file(
        sample.train, InspectOptions(model=str(tiny_model), provider=Provider.LOCAL, max_length=64)
    )
    warnings = sum(g.count for g in here.groups(Severity.WARNING))
    assert warnings and [p.message for p in problems] == [
        f"The training file {sample.train.name} has {warnings:,} warnings "
        "(they do not block: the Dataset report lists them)."
    ]


def test_the_train_command_does_not_import_torch_to_check_a_local_run(
    tiny_model: Path, tmp_path: Path
) -> None:
    """``train --backend local`` checks the data and starts the worker (which has torch);
    the command itself never imports it (it took ~6 s, now ~2)."""
    data = write_toy_dataset(tmp_path / "train.jsonl")
    argv = ["--workspace", str(tmp_path / "ws"), "train", "--backend", "local"]
    argv += ["--model", str(tiny_model), "--data", str(data), "--max-steps", "1", "--detach"]
    probe = f"import sys\nfrom tui.cli import main\ncode = main({argv!r})\nprint('torch' in sys.modules, code)\n"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    for folder in RunStore(tmp_path / "ws" / "runs").list_folders():  # the worker it started
        pid = folder.read_status().pid
        if pid and folder.read_status().state.is_active:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert shown.stdout.strip().splitlines()[-1] == "False 0", shown.stdout + shown.stderr
