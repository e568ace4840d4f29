"""`runs`, `watch`, the follow printer and every command taking RUN over damaged, hostile folders."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from tests.support.damaged_runs import ESCAPES, corpus_store, damaged_corpus, no_raw_escapes
from tests.support.runs import local_spec, store_at
from tui.cli import main


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def test_runs_and_runs_json_list_a_damaged_workspace(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = damaged_corpus(corpus_store(workspace))
    assert main(["--workspace", str(workspace), "runs"]) == 0
    out = capsys.readouterr().out
    assert no_raw_escapes(out)
    for folder in runs.values():
        assert folder.run_id in out
    assert "unreadable: status.json: empty" in out
    assert "unreadable: run.json: missing" in out
    assert main(["--workspace", str(workspace), "runs", "--json"]) == 0
    rows = {row["run_id"]: row for row in orjson.loads(capsys.readouterr().out)}
    assert set(rows) == {folder.run_id for folder in runs.values()}
    assert rows[runs["good"].run_id]["state"] == "succeeded"
    assert rows[runs["pid_text"].run_id]["state"] == "unreadable"
    assert rows[runs["hosted_empty"].run_id]["job_id"] == "ftjob-kept"
    assert rows[runs["metrics_bad"].run_id]["bad_metric_lines"] == 4


def test_runs_says_a_link_out_of_the_workspace_is_left_out(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_at(workspace).create(local_spec())
    outside = store_at(tmp_path / "other").create(local_spec())
    os.symlink(outside.path, workspace / "runs" / "20990101-0000-evil-ffff")
    assert main(["--workspace", str(workspace), "runs"]) == 0
    captured = capsys.readouterr()
    assert "evil" not in captured.out
    assert "20990101-0000-evil-ffff: left out, a link to" in captured.err


def test_watch_says_what_is_missing(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.app import FinetuneApp

    opened: list[object] = []
    monkeypatch.setattr(FinetuneApp, "run", lambda self: opened.append(self))
    runs = damaged_corpus(corpus_store(workspace))
    assert main(["--workspace", str(workspace), "watch", runs["no_run_json"].run_id]) == 0
    assert f"Run {runs['no_run_json'].run_id} is unreadable: run.json: missing" in (
        capsys.readouterr().err
    )
    assert opened  # the monitor opens all the same, and says it too


def test_the_follow_printer_shows_escapes_as_text(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.commands.run_cli import print_until_done

    runs = damaged_corpus(corpus_store(workspace))
    code = print_until_done(
        runs["hostile"], interval=0.01, stopped="", final_lines=lambda status: []
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "hello␛]0;TITLE␇␛[2Jworld" in captured.out
    assert "boom␛]0;TITLE␇" in captured.err
    assert no_raw_escapes(captured.out + captured.err)
    assert ESCAPES not in captured.out


@pytest.mark.parametrize("command", ["cancel", "save", "resume", "merge", "watch"])
@pytest.mark.parametrize("name", ["", "..", "../runs/{id}", "nope/x"])
def test_commands_taking_run_refuse_names_outside_runs(
    workspace: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    folder = store_at(workspace).create(local_spec())  # the only run: never picked
    argv = ["--workspace", str(workspace), command, name.format(id=folder.run_id)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


def test_push_and_a_link_out_of_runs_are_refused(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_at(workspace).create(local_spec())
    outside = store_at(tmp_path / "other").create(local_spec())
    os.symlink(outside.path, workspace / "runs" / "evil")
    for argv in (["merge", "evil"], ["cancel", "evil"], ["push", "evil", "--repo", "u/x"]):
        assert main(["--workspace", str(workspace), *argv]) == 2
        assert "outside" in capsys.readouterr().err
    assert not (outside.output_dir / "merged").exists()


def test_commands_refuse_an_unreadable_run(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = damaged_corpus(corpus_store(workspace))
    assert main(["--workspace", str(workspace), "cancel", runs["pid_text"].run_id]) == 2
    assert "is unreadable: status.json: pid is 'abc'" in capsys.readouterr().err


def test_tuned_run_names_go_through_the_same_check(workspace: Path, tmp_path: Path) -> None:
    from backends.evaluate.request import EvalRequest, UsageProblem
    from backends.evaluate.setup import tuned_model

    store_at(workspace).create(local_spec())
    outside = store_at(tmp_path / "other").create(local_spec())
    os.symlink(outside.path, workspace / "runs" / "evil")
    for name, reason in (("", "cannot be empty"), ("evil", "outside"), ("..", "not a run id")):
        request = EvalRequest(data="", model="m", tuned=name, workspace=str(workspace))
        with pytest.raises(UsageProblem, match=reason):
            tuned_model(request, "local")


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_config_reads_only_regular_files(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = {"device": Path("/dev/zero"), "folder": tmp_path}.get(kind, tmp_path / "fifo")
    if kind == "fifo":
        os.mkfifo(path)
    argv = ["--workspace", str(workspace), "train", "--backend", "local", "--config", str(path)]
    assert main([*argv, "--data", "x.jsonl"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert not (workspace / "runs").exists()


def test_a_cut_short_last_metrics_line_is_reported(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.runs import local_succeeded

    folder = local_succeeded(store_at(workspace))
    with folder.metrics_jsonl.open("ab") as handle:
        handle.write(b'{"step": 1501, "train_lo')  # the writer died mid-line
    assert main(["--workspace", str(workspace), "runs"]) == 0
    assert f"note: {folder.run_id}: metrics.jsonl: its last line is cut short" in (
        capsys.readouterr().err
    )
    assert main(["--workspace", str(workspace), "runs", "--json"]) == 0
    [row] = orjson.loads(capsys.readouterr().out)
    assert row["metrics_cut_short"] is True and row["step"] == 1500


def test_the_follow_printer_prints_a_short_tail_of_a_long_history(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.runs import local_succeeded
    from tui.commands.run_cli import print_until_done

    folder = local_succeeded(store_at(workspace))
    code = print_until_done(
        folder, interval=0.01, stopped="", final_lines=lambda status: [], backlog=3
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert len(out) < 10, out  # not 1,500 steps again
    assert any(line.startswith("step 1500/") for line in out)
    assert not any(line.startswith("step 1499") for line in out)
    assert "Run succeeded after 1500 steps." in "\n".join(out)


@pytest.mark.parametrize("which", ["workspace", "runs"])
@pytest.mark.parametrize(
    "command", [["runs"], ["runs", "--json"], ["watch", "x"], ["merge", "x"], ["train"]]
)
def test_a_file_where_the_workspace_should_be_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, command: list[str]
) -> None:
    workspace = tmp_path / "ws"
    if which == "runs":
        workspace.mkdir()
    file = workspace if which == "workspace" else workspace / "runs"
    file.write_text("not a folder")
    if command == ["train"]:
        command = ["train", "--backend", "local", "--data", str(file)]
    assert main(["--workspace", str(workspace), *command]) == 2
    err = capsys.readouterr().err
    assert f"{file} is a file, not a folder" in err and "Traceback" not in err


def test_a_read_only_workspace_is_said_with_its_path(
    openai_env: object,
    dataset: Path,
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    import backends.runs.store as store_module

    def read_only(path: Path) -> Path:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(store_module, "private_dir", read_only)  # root ignores chmod: fail it here
    argv = ["--workspace", str(workspace), "train", "--backend", "openai", "--yes", "--detach"]
    assert main([*argv, "--model", "gpt-4o-mini", "--data", str(dataset)]) == 1
    err = capsys.readouterr().err
    assert f"Cannot use {workspace / 'runs'}: read-only file system." in err
