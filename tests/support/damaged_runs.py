"""A workspace of damaged run folders, generated: what `runs`, `watch` and F5 must survive.

Each entry is a run folder broken in one way (a value of the wrong type in
``status.json``, an empty file, a metrics line of the wrong shape, a missing
``run.json``), next to a healthy run that must keep working.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from backends.runs import RunFolder, RunStore
from tests.support.runs import NOW, hosted_spec, local_spec, local_succeeded

ESCAPES = "\033]0;TITLE\007\033[2J"
"""Retitles the terminal and clears the screen when written raw."""

STATUS_DAMAGE: dict[str, object] = {
    "result_files": 7,
    "pid_text": "abc",
    "pid_huge": 12345678901234567890,
    "started_text": "x",
    "started_ancient": -1e18,
    "state_number": 3,
}
"""A ``status.json`` field set to a value it can never hold, by the run's name."""


def _status(folder: RunFolder) -> dict[str, object]:
    return orjson.loads(folder.status_json.read_bytes())


def damaged_corpus(store: RunStore) -> dict[str, RunFolder]:
    """The healthy run ``good`` and one damaged run per kind of damage."""
    runs: dict[str, RunFolder] = {"good": local_succeeded(store)}
    keys = {
        "result_files": "result_files",
        "pid_text": "pid",
        "pid_huge": "pid",
        "started_text": "started_at",
        "started_ancient": "started_at",
        "state_number": "state",
    }
    for name, value in STATUS_DAMAGE.items():
        folder = store.create(local_spec())
        status = {**_status(folder), keys[name]: value}
        folder.status_json.write_bytes(orjson.dumps(status))
        runs[name] = folder
    for name, content in (
        ("status_empty", b""),
        ("status_not_json", b"{not json"),
        ("status_array", b"[1, 2]"),
    ):
        folder = store.create(local_spec())
        folder.status_json.write_bytes(content)
        runs[name] = folder
    # A hosted run whose status.json was emptied: its job id is still in the follower's cursor.
    hosted = store.create(hosted_spec())
    (hosted.path / ".mirror.json").write_bytes(orjson.dumps({"job_id": "ftjob-kept"}))
    hosted.status_json.write_bytes(b"")
    runs["hosted_empty"] = hosted
    # Metrics lines that are JSON, but of the wrong shape, among good ones; a torn last line.
    metrics = store.create(local_spec())
    metrics.metrics_jsonl.write_bytes(
        b'{"step": 1, "train_loss": 2.5}\n{"step": "x"}\n{"step": 2, "train_loss": "y"}\n'
        b'[1]\n{"step": 3, "train_loss": 2.0, "total_steps": 9.5}\n{"step": 4, "train_loss": 1.5}\n'
        b'{"step": 5, "tra'
    )
    runs["metrics_bad"] = metrics
    # run.json gone or not an object.
    missing = store.create(local_spec())
    missing.run_json.unlink()
    runs["no_run_json"] = missing
    array = store.create(local_spec())
    array.run_json.write_bytes(b"[1]")
    runs["run_json_array"] = array
    wrong = store.create(local_spec())
    wrong.run_json.write_bytes(orjson.dumps({"backend": "local", "model": 5, "dataset": "d"}))
    runs["run_json_types"] = wrong
    # Hostile text: escapes in the log, the name, the model and the error.
    hostile = store.create(local_spec())
    spec = {**orjson.loads(hostile.run_json.read_bytes()), "name": f"n{ESCAPES}"}
    spec["model"] = f"m{ESCAPES}"
    hostile.run_json.write_bytes(orjson.dumps(spec))
    status = {**_status(hostile), "state": "failed", "error": f"boom{ESCAPES}", "ended_at": NOW}
    hostile.status_json.write_bytes(orjson.dumps(status))
    hostile.log(f"hello{ESCAPES}world", when=NOW)
    runs["hostile"] = hostile
    return runs


def corpus_store(workspace: Path) -> RunStore:
    tags = [f"{n:04x}" for n in range(40)]
    names = iter(tags)
    return RunStore(workspace / "runs", clock=lambda: NOW, tag=lambda: next(names))


def no_raw_escapes(text: str) -> bool:
    """No ESC, BEL or other control character but newline and tab in ``text``."""
    return not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)
