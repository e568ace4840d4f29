"""Run the methods over the evaluation set and put them side by side.

Methods: ``zero-shot``, ``few-shot`` and ``rag`` on the base model (the
alternatives to fine-tuning), ``current`` (the plain prompt) on a fine-tuned
model the user already has (an OpenAI ``ft:`` model its replacement is measured
against), ``tuned`` (the plain prompt) on the tuned model. ``compare`` returns a ``Comparison``: per method the mean of every
metric with its bootstrap interval, prompt/completion tokens per request and
latency; per example the prompt, the reference and each method's answer and
scores; and the benefit figures (quality gain over the best alternative,
prompt tokens saved, cost per 1,000 requests from the dated catalog prices,
break-even when a training cost is known).

A cancelled comparison keeps what finished: methods are scored over the
examples they answered (``n``), and ``cancelled`` is set.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backends.catalog import PRICES_AS_OF, find_any_hosted
from backends.evaluate import scoring
from backends.evaluate.prompts import (
    DEFAULT_SHOTS,
    EvalSet,
    Retriever,
    choose_shots,
    few_shot,
    prompt_text,
    rag,
    zero_shot,
)
from backends.evaluate.runners import Generation, Request, Runner, counting

if TYPE_CHECKING:
    from backends.evaluate.verdicts import JudgeReport, Verdict

ZERO_SHOT = "zero-shot"
FEW_SHOT = "few-shot"
RAG = "rag"
TUNED = "tuned"
CURRENT = "current"
"""A fine-tuned model already in use (``--current ft:…``): its own row, not an alternative."""
METHODS: tuple[str, ...] = (ZERO_SHOT, FEW_SHOT, RAG, CURRENT, TUNED)
ALTERNATIVES: tuple[str, ...] = (ZERO_SHOT, FEW_SHOT, RAG)
FINE_TUNED: tuple[str, ...] = (CURRENT, TUNED)
"""The methods answering with a fine-tuned model (priced at the catalog's fine-tuned rates)."""
METHOD_LABELS = {
    ZERO_SHOT: "zero-shot",
    FEW_SHOT: "few-shot",
    RAG: "RAG",
    CURRENT: "current fine-tune",
    TUNED: "tuned",
}
DEFAULT_METRIC = scoring.TOKEN_F1

Progress = Callable[[int, int], None]
"""``(finished, total)`` requests."""


@dataclass
class MethodResult:
    method: str
    model: str
    requested: int
    answered: int = 0
    errors: int = 0
    scores: dict[str, scoring.Summary] = field(default_factory=dict)
    prompt_tokens: float | None = None
    """Mean prompt tokens per answered request."""
    completion_tokens: float | None = None
    latency_s: float | None = None
    """Mean seconds per answered request."""
    shots: int = 0
    first_error: str | None = None

    def mean(self, metric: str) -> float | None:
        summary = self.scores.get(metric)
        return summary.mean if summary else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "model": self.model,
            "requested": self.requested,
            "answered": self.answered,
            "errors": self.errors,
            "shots": self.shots,
            "scores": {name: s.to_dict() for name, s in self.scores.items()},
            "prompt_tokens_per_request": self.prompt_tokens,
            "completion_tokens_per_request": self.completion_tokens,
            "latency_s_per_request": self.latency_s,
            "first_error": self.first_error,
        }


@dataclass
class Row:
    """One example: what was asked, what was expected, and what each method answered."""

    line: int
    prompt: str
    reference: str
    answers: dict[str, Generation] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    judgements: dict[str, Verdict] = field(default_factory=dict)
    """The LLM judge's verdict per method (when a judge ran)."""

    def difference(self, metric: str = DEFAULT_METRIC) -> float | None:
        """Tuned score minus the best alternative's on this example (for sorting)."""
        tuned = self.scores.get(TUNED, {}).get(metric)
        others = [s[metric] for m, s in self.scores.items() if m in ALTERNATIVES and metric in s]
        if tuned is None or not others:
            return None
        return tuned - max(others)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "prompt": self.prompt,
            "reference": self.reference,
            "answers": {
                method: {**g.to_dict(), "scores": self.scores.get(method)}
                | (
                    {"judge": self.judgements[method].to_dict()}
                    if method in self.judgements
                    else {}
                )
                for method, g in self.answers.items()
            },
        }


@dataclass
class Benefit:
    metric: str
    best_alternative: str | None
    best_alternative_score: float | None
    tuned_score: float | None
    quality_gain: float | None
    """Tuned mean minus the best alternative's mean (same metric, 0-1)."""
    prompt_tokens_saved: dict[str, float]
    """Per alternative (few-shot, RAG): its prompt tokens per request minus the tuned model's."""
    cost_per_1000: dict[str, float | None]
    """USD per 1,000 requests per method, from measured tokens and catalog prices."""
    prices_as_of: str
    saving_per_request: float | None = None
    """USD the tuned model saves per request against the best alternative."""
    current_score: float | None = None
    """The current fine-tune's mean (same metric), when it was in the comparison."""
    training_cost: float | None = None
    break_even_requests: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Comparison:
    methods: dict[str, MethodResult]
    rows: list[Row]
    held_out: str
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False
    benefit: Benefit | None = None
    judge: JudgeReport | None = None
    """What the optional LLM judge graded (``None``: no judge)."""

    def to_dict(self) -> dict[str, Any]:
        judge = {"judge": self.judge.to_dict()} if self.judge is not None else {}
        return {
            "held_out": self.held_out,
            "examples": len(self.rows),
            "cancelled": self.cancelled,
            "notes": self.notes,
            "methods": {name: result.to_dict() for name, result in self.methods.items()},
            "benefit": self.benefit.to_dict() if self.benefit else None,
            "rows": [row.to_dict() for row in self.rows],
            **judge,
        }

    def sorted_rows(self, metric: str = DEFAULT_METRIC) -> list[Row]:
        """Rows by tuned-minus-best-alternative score, worst first (where tuning lost)."""
        return sorted(
            self.rows, key=lambda r: (r.difference(metric) is None, r.difference(metric) or 0.0)
        )


@dataclass(frozen=True)
class Plan:
    """What to run: the base runner with which alternatives, the tuned runner, and the current
    fine-tune's (the model in use today, on the provider that serves it)."""

    base: Runner | None
    tuned: Runner | None = None
    few_shot_k: int = DEFAULT_SHOTS
    rag_k: int = DEFAULT_SHOTS
    zero_shot: bool = True
    seed: int = 0
    current: Runner | None = None

    def runner_of(self, method: str) -> Runner | None:
        """The runner that answers for ``method``."""
        return {TUNED: self.tuned, CURRENT: self.current}.get(method, self.base)


def build_requests(eval_set: EvalSet, plan: Plan) -> tuple[dict[str, list[Request]], list[str]]:
    """Requests per method (keys ``method/position``), and notes on methods left out."""
    notes: list[str] = []
    per_method: dict[str, list[Request]] = {}
    examples = eval_set.examples
    if plan.base is not None:
        if plan.zero_shot:
            per_method[ZERO_SHOT] = [
                Request(f"{ZERO_SHOT}/{i}", zero_shot(e)) for i, e in enumerate(examples)
            ]
        if plan.few_shot_k > 0 or plan.rag_k > 0:
            if not eval_set.pool:
                notes.append("Few-shot and RAG need training examples (--train): left out.")
            else:
                if plan.few_shot_k > 0:
                    shots = choose_shots(eval_set.pool, plan.few_shot_k, plan.seed)
                    per_method[FEW_SHOT] = [
                        Request(f"{FEW_SHOT}/{i}", few_shot(e, shots))
                        for i, e in enumerate(examples)
                    ]
                if plan.rag_k > 0:
                    retriever = Retriever(eval_set.pool)
                    per_method[RAG] = [
                        Request(f"{RAG}/{i}", rag(e, retriever(e, plan.rag_k)))
                        for i, e in enumerate(examples)
                    ]
    for method in FINE_TUNED:
        if plan.runner_of(method) is not None:
            per_method[method] = [
                Request(f"{method}/{i}", zero_shot(e)) for i, e in enumerate(examples)
            ]
    return per_method, notes


def compare(
    eval_set: EvalSet,
    plan: Plan,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    training_cost: float | None = None,
    metric: str = DEFAULT_METRIC,
    resamples: int = scoring.DEFAULT_RESAMPLES,
) -> Comparison:
    cancel = cancel or threading.Event()
    per_method, notes = build_requests(eval_set, plan)
    on_result = counting(sum(len(r) for r in per_method.values()), progress)

    answers: dict[str, list[Generation | None]] = {}
    for runner, methods in (
        (plan.base, [m for m in ALTERNATIVES if m in per_method]),
        *((plan.runner_of(m), [m] if m in per_method else []) for m in FINE_TUNED),
    ):
        if runner is None or not methods or cancel.is_set():
            continue
        batch = [r for m in methods for r in per_method[m]]
        results = runner.run(batch, cancel=cancel, on_result=on_result)
        position = 0
        for method in methods:
            count = len(per_method[method])
            answers[method] = results[position : position + count]
            position += count
        fatal = getattr(runner, "fatal", None)
        if fatal:
            notes.append(f"Stopped early: {fatal}")

    rows = [Row(e.line, prompt_text(e.prompt), e.reference) for e in eval_set.examples]
    results_by_method: dict[str, MethodResult] = {}
    for method, generations in answers.items():
        runner = plan.runner_of(method)
        assert runner is not None
        result = MethodResult(method, runner.model, len(generations))
        if method == FEW_SHOT:
            result.shots = plan.few_shot_k
        elif method == RAG:
            result.shots = plan.rag_k
        per_metric: dict[str, list[float]] = {name: [] for name in scoring.METRICS}
        prompt_tokens: list[int] = []
        completion_tokens: list[int] = []
        latencies: list[float] = []
        for position, generation in enumerate(generations):
            if generation is None:
                continue
            row = rows[position]
            row.answers[method] = generation
            if not generation.ok:
                result.errors += 1
                result.first_error = result.first_error or generation.error
                continue
            result.answered += 1
            scores = scoring.score(generation.text, row.reference)
            row.scores[method] = scores
            for name, value in scores.items():
                per_metric[name].append(value)
            if generation.prompt_tokens is not None:
                prompt_tokens.append(generation.prompt_tokens)
            if generation.completion_tokens is not None:
                completion_tokens.append(generation.completion_tokens)
            if generation.latency_s is not None:
                latencies.append(generation.latency_s)
        for name, values in per_metric.items():
            summary = scoring.summarise(values, resamples=resamples, seed=plan.seed)
            if summary is not None:
                result.scores[name] = summary
        result.prompt_tokens = scoring.mean(prompt_tokens)
        result.completion_tokens = scoring.mean(completion_tokens)
        result.latency_s = scoring.mean(latencies)
        results_by_method[method] = result

    comparison = Comparison(
        {m: results_by_method[m] for m in METHODS if m in results_by_method},
        rows,
        eval_set.held_out,
        [*eval_set.notes, *notes],
        cancelled=cancel.is_set(),
    )
    comparison.benefit = benefit(comparison, plan, metric=metric, training_cost=training_cost)
    return comparison


def cost_per_request(result: MethodResult, runner: Runner | None, *, tuned: bool) -> float | None:
    """USD per request from the measured tokens and the catalog's price of the runner's model."""
    if runner is None or runner.price_key is None:
        return None
    if result.prompt_tokens is None or result.completion_tokens is None:
        return None
    entry = find_any_hosted(runner.price_key)
    if entry is None:
        return None
    prices = entry.prices
    input_price = prices.tuned_input if tuned else prices.base_input
    output_price = prices.tuned_output if tuned else prices.base_output
    if input_price is None or output_price is None:
        return None
    return (result.prompt_tokens * input_price + result.completion_tokens * output_price) / 1e6


def benefit(
    comparison: Comparison,
    plan: Plan,
    *,
    metric: str = DEFAULT_METRIC,
    training_cost: float | None = None,
) -> Benefit:
    methods = comparison.methods
    scored: list[tuple[str, float]] = []
    for name, result in methods.items():
        score = result.mean(metric)
        if name in ALTERNATIVES and score is not None:
            scored.append((name, score))
    best = max(scored, key=lambda item: item[1]) if scored else None
    tuned = methods.get(TUNED)
    tuned_score = tuned.mean(metric) if tuned else None
    gain = tuned_score - best[1] if tuned_score is not None and best is not None else None
    saved: dict[str, float] = {}
    if tuned is not None and tuned.prompt_tokens is not None:
        for name in (FEW_SHOT, RAG):
            other = methods.get(name)
            if other is not None and other.prompt_tokens is not None:
                saved[name] = other.prompt_tokens - tuned.prompt_tokens
    per_request: dict[str, float | None] = {
        name: cost_per_request(result, plan.runner_of(name), tuned=name in FINE_TUNED)
        for name, result in methods.items()
    }
    saving = None
    tuned_cost = per_request.get(TUNED)
    if best is not None and tuned_cost is not None:
        best_cost = per_request.get(best[0])
        if best_cost is not None:
            saving = best_cost - tuned_cost
    break_even = (
        training_cost / saving
        if training_cost is not None and saving is not None and saving > 0
        else None
    )
    return Benefit(
        metric=metric,
        best_alternative=best[0] if best else None,
        best_alternative_score=best[1] if best else None,
        tuned_score=tuned_score,
        quality_gain=gain,
        prompt_tokens_saved=saved,
        cost_per_1000={k: (v * 1000 if v is not None else None) for k, v in per_request.items()},
        prices_as_of=PRICES_AS_OF,
        saving_per_request=saving,
        training_cost=training_cost,
        break_even_requests=break_even,
        current_score=methods[CURRENT].mean(metric) if CURRENT in methods else None,
    )


def method_order(names: Sequence[str]) -> list[str]:
    return [m for m in METHODS if m in names]
