"""The optional LLM judge: a hosted model grades every answer 1-5 against its reference.

The rubric, the verdicts and the report are in ``verdicts`` (re-exported here).

``judge_comparison`` grades what a ``Comparison`` holds, through any
``Runner`` (``judge_runner`` builds the hosted one: temperature 0, a small
reply budget, the same concurrency, 429 handling and cancel as the methods).
A method's failed requests are not graded. The scores become the ``judge``
metric (mean on 1-5 with its bootstrap interval) next to EM/F1/ROUGE-L; a
cancel keeps what was judged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backends.evaluate import scoring
from backends.evaluate.runners import Generation, HostedRunner, Request, Runner, counting
from backends.evaluate.verdicts import (
    JUDGE,
    JUDGE_LABEL,
    JUDGE_MAX_TOKENS,
    REPLY_EXAMPLE,
    RUBRIC,
    RUBRIC_VERSION,
    SCORE_MAX,
    SCORE_MIN,
    JudgeEstimate,
    JudgeReplyError,
    JudgeReport,
    Verdict,
    judge_lines,
    judge_messages,
    parse_verdict,
    verdict_of,
)

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison

__all__ = [
    "JUDGE",
    "JUDGE_LABEL",
    "JUDGE_MAX_TOKENS",
    "REPLY_EXAMPLE",
    "RUBRIC",
    "RUBRIC_VERSION",
    "SCORE_MAX",
    "SCORE_MIN",
    "JudgeEstimate",
    "JudgeReplyError",
    "JudgeReport",
    "Verdict",
    "judge_comparison",
    "judge_lines",
    "judge_messages",
    "judge_runner",
    "parse_verdict",
    "verdict_of",
]


def judge_runner(
    settings: Any, model: str, *, secret: str | None = None, concurrency: int = 8
) -> HostedRunner:
    """The hosted judge: temperature 0, ``JUDGE_MAX_TOKENS`` per reply."""
    return HostedRunner(
        settings,
        model,
        secret=secret,
        concurrency=concurrency,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=0.0,
    )


def judge_comparison(
    comparison: Comparison,
    runner: Runner,
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    estimate: JudgeEstimate | None = None,
    resamples: int = scoring.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> JudgeReport:
    """Grade every answered request of ``comparison`` (in place) and attach the report."""
    cancel = cancel or threading.Event()
    requests: list[Request] = []
    targets: list[tuple[str, int]] = []
    for method in comparison.methods:
        for position, row in enumerate(comparison.rows):
            generation = row.answers.get(method)
            if generation is None or not generation.ok:
                continue
            messages = judge_messages(row.prompt, row.reference, generation.text)
            requests.append(Request(f"{JUDGE}/{method}/{position}", messages))
            targets.append((method, position))
    report = JudgeReport(runner.model, len(requests), estimate=estimate)
    comparison.judge = report
    on_result = counting(len(requests), progress)

    results: list[Generation | None] = []
    if requests and not cancel.is_set():
        results = runner.run(requests, cancel=cancel, on_result=on_result)
    per_method: dict[str, list[float]] = {method: [] for method in comparison.methods}
    for (method, position), generation in zip(
        targets, results, strict=False
    ):  # empty when cancelled first
        if generation is None:
            continue
        row = comparison.rows[position]
        verdict = verdict_of(generation)
        row.judgements[method] = verdict
        report.prompt_tokens += generation.prompt_tokens or 0
        report.completion_tokens += generation.completion_tokens or 0
        if verdict.score is None:
            report.errors += 1
            report.first_error = report.first_error or verdict.error
            continue
        report.judged += 1
        row.scores[method][JUDGE] = float(verdict.score)
        per_method[method].append(float(verdict.score))
    for method, values in per_method.items():
        summary = scoring.summarise(values, resamples=resamples, seed=seed)
        if summary is not None:
            comparison.methods[method].scores[JUDGE] = summary
    fatal = getattr(runner, "fatal", None)
    if fatal:
        report.stopped_early = str(fatal)
    if estimate is not None:
        report.cost = estimate.cost_of(report.prompt_tokens, report.completion_tokens)
    if cancel.is_set():
        report.cancelled = comparison.cancelled = True
    return report
