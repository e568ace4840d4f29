"""Following a run folder: only appended bytes are read; the runs list and ``finetune-tui runs``."""

from __future__ import annotations

import os

import orjson
import pytest

from backends.runs import RunStore
from backends.runs.figures import compute_figures, format_duration
from backends.runs.table import RunTable
from backends.runs.values import MetricPoint, RunState
from backends.runs.watch import RunWatch, log_backlog
from tests.support.runs import (
    NOW,
    all_kinds,
    beating,
    hosted_succeeded,
    local_points,
    local_running,
    local_spec,
)
from tui.cli import main


def test_poll_reads_only_what_was_appended(
    app_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = local_running(app_store)
    watch = RunWatch(folder)
    watch.open(NOW)
    assert watch.history.count == 600
    size = folder.metrics_jsonl.stat().st_size

    reads: list[tuple[int, int]] = []
    real_open = open

    def spying_open(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(path, mode, *args, **kwargs)
        if str(path) == str(folder.metrics_jsonl):
            real_read, real_seek = handle.read, handle.seek
            where = {"at": 0}

            def seek(offset: int, *a: object) -> int:
                where["at"] = offset
                return real_seek(offset, *a)

            def read(n: int = -1) -> bytes:
                reads.append((where["at"], n))
                return real_read(n)

            handle.seek, handle.read = seek, read
        return handle

    monkeypatch.setattr("builtins.open", spying_open)
    folder.append_metrics(local_points(3, start=601))
    update = watch.poll(NOW)
    assert update.points == 3 and watch.history.count == 603
    assert reads and all(offset >= size for offset, _ in reads), reads
    assert watch.poll(NOW).points == 0


def test_a_replaced_metrics_file_is_read_again(app_store: RunStore) -> None:
    folder = local_running(app_store, steps=10)
    watch = RunWatch(folder)
    watch.open(NOW)
    replacement = folder.path / "new.jsonl"
    replacement.write_bytes(b"".join(orjson.dumps(p.to_dict()) + b"\n" for p in local_points(4)))
    os.replace(replacement, folder.metrics_jsonl)
    update = watch.poll(NOW)
    assert update.reset and watch.history.count == 4


def test_log_backlog_starts_the_tail_after_it(tmp_path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("".join(f"line {i}\n" for i in range(10)) + "partial")
    lines, offset = log_backlog(log, 3)
    assert lines == ["line 7", "line 8", "line 9"]
    assert offset == log.read_bytes().index(b"partial")


def test_figures_of_a_finished_hosted_run(app_store: RunStore) -> None:
    watch = RunWatch(hosted_succeeded(app_store))
    watch.open(NOW)
    figures = compute_figures(
        watch.spec, watch.status, watch.history, now=NOW, output_dir=watch.folder.output_dir
    )
    assert figures.state is RunState.SUCCEEDED
    assert figures.elapsed_s == 3660
    assert figures.price_per_million == 3.0  # gpt-4o-mini training, catalog
    assert figures.cost_usd == pytest.approx(1_234_567 * 3.0 / 1e6)
    assert figures.best_valid == (round(1.9 * 2.718281828459045 ** (-90 / 35) + 0.37, 5), 90)
    assert figures.eta_s is None and figures.checkpoints == 2
    assert figures.epoch == pytest.approx(3.0)  # 90 of 90 steps, 3 epochs
    assert format_duration(figures.elapsed_s) == "1h 01m"


def test_running_figures_use_the_logged_pace(app_store: RunStore) -> None:
    watch = RunWatch(local_running(app_store))
    watch.open(NOW)
    figures = compute_figures(watch.spec, watch.status, watch.history, now=NOW)
    assert figures.state is RunState.RUNNING
    assert figures.eta_s == pytest.approx(900 * 1.5)  # 900 steps left at 1.5 s each
    assert figures.elapsed_s == pytest.approx(900.0)
    assert figures.cost_usd is None and not figures.hosted


def test_run_table_marks_a_dead_worker_failed(app_store: RunStore) -> None:
    runs = all_kinds(app_store)
    dead = app_store.create(
        local_spec(), status={"state": RunState.RUNNING, "started_at": NOW - 60}
    )
    dead.update_status(pid=2**22 + 17)  # no such process
    dead.append_metric(MetricPoint(step=1, train_loss=2.0))
    rows = {row.run_id: row for row in RunTable(app_store).rows(NOW)}
    assert rows[dead.run_id].state is RunState.FAILED
    assert "is not running" in (rows[dead.run_id].error or "")
    assert rows[runs["running"].run_id].state is RunState.RUNNING
    hosted = rows[runs["hosted"].run_id]
    best_full = min(p.full_valid_loss for p in runs["hosted"].load_metrics() if p.full_valid_loss)
    assert hosted.best_valid == (best_full, 90)
    # The best and the last come from the same series: the best is never above the last.
    last_full = [p.full_valid_loss for p in runs["hosted"].load_metrics() if p.full_valid_loss][-1]
    assert (hosted.valid_series, hosted.last_valid_loss) == ("full_valid", last_full)
    assert hosted.best_valid[0] <= hosted.last_valid_loss
    assert hosted.duration_s == 3660 and hosted.step == 90


def test_runs_command_prints_a_table_and_json(app_store: RunStore, capsys) -> None:
    runs = all_kinds(app_store)
    # The command reads the real clock: the running worker's heartbeat is kept fresh by it.
    with beating(runs["running"]):
        assert main(["runs"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert main(["runs", "--json"]) == 0
        data = orjson.loads(capsys.readouterr().out)
    assert out[0].split()[:4] == ["RUN", "BACKEND", "MODEL", "STATE"]
    assert [line.split()[0] for line in out[1:]] == [
        runs["running"].run_id,
        runs["failed"].run_id,
        runs["hosted"].run_id,
    ]
    assert [row["state"] for row in data] == ["running", "failed", "succeeded"]
    assert data[2]["fine_tuned_model"] == "ft:gpt-4o-mini-2024-07-18:acme:support:9xYz"


def test_watch_an_unknown_run_says_so(app_store: RunStore, capsys) -> None:
    assert main(["watch", "nope"]) == 2
    assert "No run 'nope'" in capsys.readouterr().err


def test_best_valid_is_never_above_the_last_of_its_series(app_store: RunStore) -> None:
    """Full validation judged worse, per-step validation better: each best stays with its own series (#11 item 10)."""
    run = app_store.create(local_spec(), status={"state": RunState.SUCCEEDED, "started_at": NOW})
    run.append_metric(MetricPoint(step=10, train_loss=1.0, valid_loss=0.50, full_valid_loss=0.3925))
    run.append_metric(MetricPoint(step=20, train_loss=0.9, valid_loss=0.3858, full_valid_loss=0.40))
    row = next(r for r in RunTable(app_store).rows(NOW) if r.run_id == run.run_id)
    data = row.to_dict()
    assert data["valid_series"] == "full_valid"
    assert (data["best_valid_loss"], data["last_valid_loss"]) == (0.3925, 0.40)
    watch = RunWatch(run)
    watch.open(NOW)
    figures = compute_figures(watch.spec, watch.status, watch.history, now=NOW)
    assert figures.best_valid == (0.3925, 10)
    assert figures.best_valid_label == "best full valid"
    assert figures.full_valid_loss is not None and figures.best_valid[0] <= figures.full_valid_loss


def test_epochs_come_from_the_planned_steps(app_store: RunStore) -> None:
    """A 20-step run never shows "epoch 1.50 / 3": it plans 2 epochs' worth of steps (#11 item 20)."""
    spec = local_spec()
    spec.hyperparameters["num_train_epochs"] = 3
    run = app_store.create(
        spec, status={"state": RunState.RUNNING, "started_at": NOW, "total_steps": 20}
    )
    run.append_metric(MetricPoint(step=15, train_loss=1.0, epoch=1.5))
    watch = RunWatch(run)
    watch.open(NOW)
    figures = compute_figures(watch.spec, watch.status, watch.history, now=NOW)
    assert (figures.epoch, figures.total_epochs) == (1.5, 2.0)
