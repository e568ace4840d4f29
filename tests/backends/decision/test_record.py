"""decision.json / decision.md: round trip, and every way a saved file can be unusable."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest

from backends.decision import (
    SCHEMA_VERSION,
    Answers,
    PromptingTried,
    UseCaseCategory,
    load_decision,
    recommend,
    save_decision,
)
from backends.workspace import Workspace

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / ".finetune")


def filled() -> Answers:
    a = Answers()
    a.use_case.category = UseCaseCategory.FUNCTION_CALLING
    a.use_case.description = "Calls the refund tool with the wrong currency.\nOften."
    a.use_case.current_model = "gpt-4.1-mini"
    a.use_case.target_score = 92.5
    a.alternatives.prompting = PromptingTried.FEW_SHOT
    a.alternatives.prompting_score = 71
    a.cost.examples = 120
    a.benefit.requests_per_month = 50_000
    return a


def save(ws: Workspace, answers: Answers, **kwargs: object) -> None:
    save_decision(ws, answers, recommend(answers, today=date(2026, 11, 24)), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_round_trip_keeps_every_answer(ws: Workspace) -> None:
    answers = filled()
    save(ws, answers, app_version="0.1.0")
    loaded = load_decision(ws)
    assert loaded.problem is None
    assert loaded.record is not None
    assert loaded.record.answers == answers
    assert loaded.record.created_at == "2026-11-24T09:30:00+00:00"


def test_json_holds_schema_timestamps_and_recommendation(ws: Workspace) -> None:
    save(ws, filled(), created_at="2026-11-01T08:00:00+00:00")
    data = orjson.loads(ws.decision_json.read_bytes())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["created_at"] == "2026-11-01T08:00:00+00:00"
    assert data["updated_at"] == "2026-11-24T09:30:00+00:00"
    assert data["answers"]["use_case"]["category"] == "function_calling"
    assert data["recommendation"]["verdict"] == "fine_tune"
    assert data["recommendation"]["reasons"][0]["stance"] in {"for", "against", "note"}


def test_markdown_is_readable(ws: Workspace) -> None:
    save(ws, filled())
    text = ws.decision_md.read_text()
    assert text.startswith("# Fine-tuning decision\n")
    assert "## Recommendation: Fine-tune" in text
    assert "- Category: Function calling / tool use" in text
    assert "- Billed training tokens: not measured yet" in text
    assert "- GPU memory: not measured yet" in text


def test_no_file_is_a_fresh_start_without_a_message(ws: Workspace) -> None:
    loaded = load_decision(ws)
    assert loaded.record is None and loaded.problem is None


def test_no_temporary_files_are_left_behind(ws: Workspace) -> None:
    save(ws, filled())
    save(ws, filled())
    assert sorted(p.name for p in ws.root.iterdir()) == ["decision.json", "decision.md"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"schema_version": 1,\n "answers": {,}}', "not valid JSON (line 2, column"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"answers": {}}', "no schema_version"),
        (b'{"schema_version": 9, "answers": {}}', "newer finetune-tui"),
        (b'{"schema_version": 0, "answers": {}}', "older than any"),
        (
            b'{"schema_version": 1, "answers": {"use_case": {"category": "vibes"}}}',
            "answers.use_case.category: 'vibes' is not one of",
        ),
        (
            b'{"schema_version": 1, "answers": {"cost": {"examples": "many"}}}',
            "answers.cost.examples: expected a whole number",
        ),
        (
            b'{"schema_version": 1, "answers": {"benefit": []}}',
            "answers.benefit: expected an object",
        ),
        (b"\xff\xfe garbage", "not valid JSON"),
    ],
)
def test_unusable_file_is_backed_up_and_explained(
    ws: Workspace, content: bytes, fragment: str
) -> None:
    ws.root.mkdir(parents=True)
    ws.decision_json.write_bytes(content)
    loaded = load_decision(ws)
    assert loaded.record is None
    assert loaded.problem is not None and fragment in loaded.problem
    assert loaded.backup == ws.root / "decision.json.bad"
    assert loaded.backup.read_bytes() == content
    assert str(loaded.backup.name) in loaded.problem
    # The user's file itself is untouched until the next save.
    assert ws.decision_json.read_bytes() == content


def test_backups_never_overwrite_each_other(ws: Workspace) -> None:
    ws.root.mkdir(parents=True)
    for number in range(3):
        ws.decision_json.write_bytes(b"broken %d" % number)
        load_decision(ws)
    names = sorted(p.name for p in ws.root.iterdir())
    assert names == [
        "decision.json",
        "decision.json.bad",
        "decision.json.bad.1",
        "decision.json.bad.2",
    ]
    assert (ws.root / "decision.json.bad").read_bytes() == b"broken 0"


def test_unknown_keys_are_ignored_and_missing_ones_default(ws: Workspace) -> None:
    ws.root.mkdir(parents=True)
    ws.decision_json.write_bytes(
        b'{"schema_version": 1, "future": true, "answers": {"use_case": {"category": "style", "mood": "x"}}}'
    )
    loaded = load_decision(ws)
    assert loaded.problem is None and loaded.record is not None
    assert loaded.record.answers.use_case.category is UseCaseCategory.STYLE
    assert loaded.record.answers.cost.examples is None


def test_a_folder_in_the_way_is_a_clear_error(ws: Workspace) -> None:
    ws.decision_json.mkdir(parents=True)
    loaded = load_decision(ws)
    assert loaded.record is None
    assert loaded.problem is not None and "Could not read" in loaded.problem
