"""One damaged file is one damaged run: the table, the summaries and the watch over a corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.runs.store import UnreadableFile
from backends.runs.table import UNREADABLE, RunTable
from backends.runs.values import MetricPoint, RunState
from backends.runs.watch import RunWatch
from tests.support.damaged_runs import (
    ESCAPES,
    STATUS_DAMAGE,
    corpus_store,
    damaged_corpus,
    no_raw_escapes,
)
from tests.support.runs import NOW


@pytest.fixture
def corpus(tmp_path: Path):
    store = corpus_store(tmp_path / "ws")
    return store, damaged_corpus(store)


def test_the_table_lists_every_run_and_says_what_is_damaged(corpus) -> None:
    store, runs = corpus
    rows = {row.run_id: row for row in RunTable(store).rows(NOW)}
    assert set(rows) == {folder.run_id for folder in runs.values()}
    good = rows[runs["good"].run_id]
    assert good.problem is None and good.state is RunState.SUCCEEDED
    for name in [*STATUS_DAMAGE, "status_empty", "status_not_json", "status_array"]:
        row = rows[runs[name].run_id]
        assert row.problem and row.problem.startswith("status.json: "), name
        assert row.to_dict()["state"] == UNREADABLE
        assert row.state_text.startswith("unreadable: status.json: ")
    assert rows[runs["status_empty"].run_id].problem == "status.json: empty"
    assert rows[runs["status_not_json"].run_id].problem == "status.json: not JSON"
    assert "pid is 'abc'" in str(rows[runs["pid_text"].run_id].problem)
    assert rows[runs["hosted_empty"].run_id].job_id == "ftjob-kept"  # recovered, not lost
    assert rows[runs["no_run_json"].run_id].problem == "run.json: missing"
    assert rows[runs["run_json_array"].run_id].problem == "run.json: not a JSON object"
    assert "model" in str(rows[runs["run_json_types"].run_id].problem)
    metrics = rows[runs["metrics_bad"].run_id]
    assert metrics.problem is None and metrics.step == 4 and metrics.last_loss == 1.5
    assert metrics.bad_metric_lines == 4  # "x", "y", [1], total_steps 9.5
    hostile = rows[runs["hostile"].run_id]
    assert no_raw_escapes(hostile.name + hostile.model + str(hostile.error))
    assert "␛]0;TITLE␇" in str(hostile.error)


def test_an_invalid_status_is_never_read_as_a_failure(corpus) -> None:
    _, runs = corpus
    with pytest.raises(UnreadableFile, match=r"status\.json: empty"):
        runs["status_empty"].effective_status(now=NOW + 3600)


def test_summaries_keep_going(corpus) -> None:
    store, runs = corpus
    summaries = {s.run_id: s for s in store.summaries()}
    assert summaries[runs["good"].run_id].problem is None
    assert summaries[runs["pid_huge"].run_id].problem == (
        "status.json: pid is 12345678901234567890, not a process id"
    )
    assert summaries[runs["hosted_empty"].run_id].status.job_id == "ftjob-kept"


def test_watch_opens_and_polls_every_damaged_run(corpus) -> None:
    store, runs = corpus
    for name, folder in runs.items():
        watch = RunWatch(folder)
        lines = watch.open(NOW)
        watch.poll(NOW, status=True)
        assert no_raw_escapes("\n".join(lines)), name
        if name in STATUS_DAMAGE or name.startswith("status_"):
            assert watch.problem and "Unreadable: status.json: " in watch.problem, name
    missing = RunWatch(runs["no_run_json"])
    missing.open(NOW)
    assert missing.problem == "Unreadable: run.json: missing"
    bad = RunWatch(runs["metrics_bad"])
    bad.open(NOW)
    assert bad.history.count == 2
    assert bad.metrics_note == (  # as `runs` and `watch` say it
        "metrics.jsonl: 4 damaged line(s) passed over; its last line is cut short (ignored)"
    )
    rows = {row.run_id: row for row in RunTable(store).rows(NOW)}
    assert bad.metrics_note == rows[runs["metrics_bad"].run_id].metrics_note


def test_metric_points_of_the_wrong_types_are_refused() -> None:
    for record in ({"step": "x"}, {"step": 1, "train_loss": "y"}, {"step": 1.5}, {"step": True}):
        with pytest.raises(ValueError):
            MetricPoint.from_dict(record)
    assert MetricPoint.from_dict({"step": 3.0, "total_steps": 9.0}).total_steps == 9


def test_a_damaged_status_is_replaced_by_its_writer_keeping_the_job_id(corpus) -> None:
    _, runs = corpus
    folder = runs["hosted_empty"]
    status = folder.update_status(state="running")
    assert status.job_id == "ftjob-kept" and folder.read_status().state is RunState.RUNNING


def test_text_in_status_is_printable(corpus) -> None:
    _, runs = corpus
    status = runs["hostile"].read_status()
    assert ESCAPES not in str(status.error) and no_raw_escapes(str(status.error))
