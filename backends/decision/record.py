"""The decision record in the workspace: ``decision.json`` and ``decision.md``.

``decision.json`` holds the answers, the recommendation, timestamps and a
schema version; ``decision.md`` says the same for people. Both are written
atomically. A file that cannot be read back (broken JSON, a wrong shape, a
schema from a newer or older version) is copied aside before anything else
happens, and the caller gets a message saying what was wrong and where the
copy is: a fresh start, never a crash, never a silent overwrite.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from backends.decision.answers import Answers, AnswersError
from backends.files import free_name, private_dir, write_atomic, write_json_atomic
from backends.workspace import Workspace

if TYPE_CHECKING:
    from backends.decision.rules import Recommendation

SCHEMA_VERSION = 1


@dataclass
class DecisionRecord:
    answers: Answers
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class LoadResult:
    record: DecisionRecord | None
    """The saved decision, or ``None`` for a fresh start."""
    problem: str | None = None
    """Why a file that exists could not be used (what, where, and where the copy went)."""
    backup: Path | None = None


def load_decision(workspace: Workspace) -> LoadResult:
    path = workspace.decision_json
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(None)
    except OSError as error:
        return LoadResult(
            None, f"Could not read {workspace.display(path)}: {error.strerror or error}."
        )

    try:
        record = _parse(raw)
    except _Unreadable as error:
        backup = free_name(path, ".bad")
        try:
            shutil.copy2(path, backup)
        except OSError as copy_error:
            return LoadResult(
                None,
                f"{workspace.display(path)} is unreadable ({error}) and could not be copied aside "
                f"({copy_error.strerror or copy_error}); it will not be overwritten until you move it.",
            )
        return LoadResult(
            None,
            f"{workspace.display(path)} could not be used: {error}. "
            f"It was kept as {workspace.display(backup)}; starting a fresh checklist.",
            backup,
        )
    return LoadResult(record)


class _Unreadable(Exception):
    pass


def _parse(raw: bytes) -> DecisionRecord:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _Unreadable(f"not valid JSON ({_json_position(raw, error)})") from None
    if not isinstance(data, dict):
        raise _Unreadable("expected a JSON object at the top")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Unreadable("no schema_version: not a finetune-tui decision file")
    if version > SCHEMA_VERSION:
        raise _Unreadable(
            f"schema_version {version} was written by a newer finetune-tui (this one reads {SCHEMA_VERSION})"
        )
    if version < SCHEMA_VERSION:
        raise _Unreadable(f"schema_version {version} is older than any this version can read")
    try:
        answers = Answers.from_dict(data.get("answers", {}))
    except AnswersError as error:
        raise _Unreadable(f"answers.{error.path}: {error.problem}") from None
    created = data.get("created_at")
    updated = data.get("updated_at")
    return DecisionRecord(
        answers,
        created if isinstance(created, str) else "",
        updated if isinstance(updated, str) else "",
    )


def _json_position(raw: bytes, error: orjson.JSONDecodeError) -> str:
    position = getattr(error, "pos", None)
    if not isinstance(position, int):
        return str(error)
    text = raw[:position].decode("utf-8", errors="replace")
    line = text.count("\n") + 1
    column = position - (text.rfind("\n") + 1) + 1
    message = str(error).split(":")[0]
    return f"line {line}, column {column}: {message}"


def save_decision(
    workspace: Workspace,
    answers: Answers,
    recommendation: Recommendation,
    *,
    now: datetime,
    created_at: str | None = None,
    app_version: str = "",
) -> DecisionRecord:
    """Write ``decision.json`` then ``decision.md``, each atomically."""
    stamp = now.isoformat(timespec="seconds")
    record = DecisionRecord(answers, created_at or stamp, stamp)
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "app_version": app_version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "answers": answers.to_dict(),
        "recommendation": recommendation_to_dict(recommendation),
    }
    private_dir(workspace.root)
    write_json_atomic(workspace.decision_json, document)
    write_atomic(workspace.decision_md, render_markdown(record, recommendation))
    return record


def recommendation_to_dict(rec: Recommendation) -> dict[str, Any]:
    be = rec.break_even
    return {
        "verdict": rec.verdict.value,
        "headline": rec.headline,
        "reasons": [{"stance": reason.stance.value, "text": reason.text} for reason in rec.reasons],
        "next_steps": list(rec.next_steps),
        "break_even": None
        if be is None
        else {
            "training_cost_usd": round(be.training_cost, 6),
            "compute_cost_usd": be.compute_cost,
            "compute_measured": be.compute_measured,
            "prep_cost_usd": be.prep_cost,
            "saving_per_request_usd": round(be.saving_per_request, 9),
            "requests_to_pay_back": None if be.requests is None else round(be.requests),
            "months_to_pay_back": None if be.months is None else round(be.months, 2),
            "monthly_saving_usd": None
            if be.monthly_saving is None
            else round(be.monthly_saving, 2),
        },
    }


_STANCE_MARK = {"for": "+", "against": "−", "note": "·"}


def render_markdown(record: DecisionRecord, rec: Recommendation) -> str:
    a = record.answers
    uc, alts, cost, ben, measured = a.use_case, a.alternatives, a.cost, a.benefit, a.measured
    lines: list[str | None] = [
        "# Fine-tuning decision",
        "",
        f"Updated {record.updated_at} (first saved {record.created_at}).",
        "",
        f"## Recommendation: {rec.headline}",
        "",
    ]
    lines += [f"- {_STANCE_MARK[r.stance.value]} {r.text}" for r in rec.reasons]
    lines += ["", "Next steps:", ""]
    lines += [f"1. {step}" for step in rec.next_steps]
    lines += [
        "",
        "## 1. Use case",
        "",
        f"- Category: {uc.category.label if uc.category else _blank}",
        f"- What and why: {uc.description.strip() or _blank}",
        f"- Model used today: {uc.current_model or _blank}",
        f"- Quality needed: {_pct(uc.target_score)}",
        "",
        "## 2. Alternatives",
        "",
        f"- Prompt engineering: {alts.prompting.label}; score {_pct(alts.prompting_score)}",
        f"  Notes: {alts.prompting_notes.strip()}" if alts.prompting_notes.strip() else None,
        f"- Retrieval (RAG): {'tried' if alts.rag_tried else 'not tried'}; score {_pct(alts.rag_score)}",
        f"  Notes: {alts.rag_notes.strip()}" if alts.rag_notes.strip() else None,
        "",
        "## 3. Cost",
        "",
        f"- Where: {cost.provider.label}; model {cost.model or uc.current_model or _blank}",
        f"- Tunability: {rec.tunability.summary if rec.tunability else _blank}",
        f"- High-quality examples: {_num(cost.examples)}",
        f"- Data preparation: {_num(cost.prep_hours)} hours at {_usd(cost.hourly_rate)}/hour",
        f"- Training compute (your estimate): {_usd(cost.compute_estimate)}",
        f"- Billed training tokens: {_num(measured.training_tokens, 'not measured yet')}",
        f"- Training cost (measured): {_usd(measured.training_cost, 'not measured yet')}",
        f"- GPU memory: {_num(measured.gpu_memory_gb, 'not measured yet')}",
        "",
        "## 4. Benefit",
        "",
        f"- Expected quality after fine-tuning: {_pct(ben.expected_score)}",
        f"- Prompt tokens per request: {_num(ben.prompt_tokens_now)} now, {_num(ben.prompt_tokens_after)} after",
        f"- Requests per month: {_num(ben.requests_per_month)}",
        f"- Reuse: {ben.reuse.label}",
    ]
    training = a.training
    if training.backend:
        lines += [
            "",
            "## Where it trains",
            "",
            f"- Provider: {training.label or training.backend}; model {training.model or _blank}",
            f"- Why: {training.reason or _blank}",
        ]
    if measured.baseline_score is not None or measured.tuned_score is not None:
        lines += [
            "",
            "## Outcome (measured)",
            "",
            f"- Best alternative (baseline): {_num(measured.baseline_score, 'not measured')}",
            f"- Tuned model: {_num(measured.tuned_score, 'not measured')}",
        ]
    if measured.few_shot_prompt_tokens is not None or measured.plain_prompt_tokens is not None:
        shots = f" (k={measured.few_shot_k})" if measured.few_shot_k else ""
        lines += [
            f"- Prompt tokens per request, measured: few-shot{shots} "
            f"{_num(measured.few_shot_prompt_tokens, 'not measured')}, "
            f"RAG {_num(measured.rag_prompt_tokens, 'not measured')}, "
            f"plain prompt {_num(measured.plain_prompt_tokens, 'not measured')}",
        ]
    be = rec.break_even
    if be is not None:
        lines += ["", "## Break-even", ""]
        lines.append(f"- One-off cost: {_usd(be.training_cost)}")
        if be.requests is None:
            lines.append("- Never pays back: each request costs more after fine-tuning.")
        else:
            lines.append(f"- Requests to pay back: {be.requests:,.0f}")
            if be.months is not None:
                lines.append(f"- Months to pay back: {be.months:,.1f}")
    return "\n".join(line for line in lines if line is not None) + "\n"


_blank = "not answered"


def _pct(value: float | None) -> str:
    return _blank if value is None else f"{value:g}%"


def _num(value: float | None, missing: str = _blank) -> str:
    if value is None:
        return missing
    return f"{value:,}" if isinstance(value, int) else f"{value:,g}"


def _usd(value: float | None, missing: str = _blank) -> str:
    return missing if value is None else f"${value:,.2f}"
