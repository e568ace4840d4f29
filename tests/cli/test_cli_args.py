"""The command line as people type it: ``--workspace`` anywhere, ``| head`` without a traceback,
messages that offer only what the command line can do."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends.runs import RunStore
from tests.fakes.emulator_env import clear_secret_env
from tests.support.runs import local_spec
from tui.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> dict[str, argparse.ArgumentParser]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_takes_the_workspace_after_it(command: str) -> None:
    action = _commands()[command]._option_string_actions["--workspace"]
    assert action.default is argparse.SUPPRESS  # not given after: the one before stands


def test_the_workspace_before_or_after_the_command_is_the_same(tmp_path: Path) -> None:
    parser = build_parser()
    before = parser.parse_args(["--workspace", str(tmp_path), "runs"])
    after = parser.parse_args(["runs", "--workspace", str(tmp_path)])
    assert before.workspace == after.workspace == str(tmp_path)
    assert parser.parse_args(["runs"]).workspace is None


def test_runs_reads_the_workspace_given_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(local_spec())
    assert main(["runs", "--workspace", str(tmp_path / "ws")]) == 0
    assert folder.run_id in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["inspect", "--sample", "--json"], ["inspect", "--sample"]])
def test_a_closed_pipe_ends_quietly(argv: list[str], tmp_path: Path) -> None:
    """``finetune-tui inspect --json | head -3``: the reader leaves early; no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    read, write = os.pipe()
    os.close(read)  # the reader has already gone: the first write that reaches the pipe fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tui", "--workspace", str(tmp_path), *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write)
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode in (0, 141)


def test_no_key_on_the_command_line_names_the_variable_only(
    monkeypatch: pytest.MonkeyPatch,
    dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clear_secret_env(monkeypatch)
    args = ["--backend", "openai", "--data", str(dataset), "--model", "gpt-4o-mini", "--yes"]
    code = main(["train", *args, "--workspace", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert code == 2 and "OPENAI_API_KEY" in err
    assert "for this session" not in err and "enter" not in err
