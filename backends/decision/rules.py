"""From answers to a recommendation, by explicit rules.

``recommend`` first collects every finding the answers support (each a
``Reason`` for or against fine-tuning, or a plain note), then picks the
verdict of the first rule that fires, in this order:

1. INCOMPLETE     no use case chosen yet
2. UNAVAILABLE    the chosen model cannot be fine-tuned where the person wants
3. NOT_NEEDED     an alternative already reaches the target
   NO_GAIN        fine-tuning is not expected (or measured) to beat the best
                  alternative
4. TRY_RAG        the gap is missing knowledge and RAG was not tried
5. TRY_PROMPTING  few-shot prompting was not tried (not for "shorter prompts",
                  whose point is to drop a working prompt)
6. COLLECT_DATA   fewer than 50 high-quality examples (10 is OpenAI's minimum)
7. NOT_WORTH_IT   the goal is cost and the training never pays back, or only
                  after more than two years
8. FINE_TUNE      otherwise

Every rule is a finding: a ``Reason`` that says which verdict it ``blocks``
on. The verdict is the first one any reason blocks on, so the headline and
the reasons come from the same facts and cannot disagree. Every verdict
carries all the reasons, so a person sees what else stands in the way once
the first obstacle is cleared. Quality is on one scale, the share of
acceptable answers (what the target is); measured figures replace typed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from backends.catalog import (
    PRICES_AS_OF,
    Provider,
)
from backends.decision.answers import Answers, PromptingTried, Reuse, UseCaseCategory
from backends.decision.break_even import (
    BreakEven,
    compute_break_even,
)
from backends.tunability import Tunability, tunability

MIN_EXAMPLES = 10
"""OpenAI refuses a training file with fewer examples."""
USEFUL_EXAMPLES = 50
"""50-100 well-made examples is where fine-tuning usually starts to show an effect."""
PAYBACK_LIMIT_MONTHS = 24


class Verdict(str, Enum):
    INCOMPLETE = "incomplete"
    UNAVAILABLE = "unavailable"
    NOT_NEEDED = "not_needed"
    NO_GAIN = "no_gain"
    TRY_RAG = "try_rag"
    TRY_PROMPTING = "try_prompting"
    COLLECT_DATA = "collect_data"
    NOT_WORTH_IT = "not_worth_it"
    FINE_TUNE = "fine_tune"

    @property
    def headline(self) -> str:
        return _HEADLINES[self]


_HEADLINES = {
    Verdict.INCOMPLETE: "Answer the use-case question first",
    Verdict.UNAVAILABLE: "Fine-tuning unavailable for that model/provider",
    Verdict.NOT_NEEDED: "Don't fine-tune: an alternative is good enough",
    Verdict.NO_GAIN: "Don't fine-tune: it does not beat the best alternative",
    Verdict.TRY_RAG: "Try RAG first: your gap is missing knowledge",
    Verdict.TRY_PROMPTING: "Try few-shot prompting first",
    Verdict.COLLECT_DATA: "Collect more data first",
    Verdict.NOT_WORTH_IT: "Fine-tuning won't pay for itself",
    Verdict.FINE_TUNE: "Fine-tune",
}


_ORDER = list(Verdict)
"""The first verdict a reason blocks on wins (the enum's order is the rules' order)."""

SHORT_OF_GOAL = "but expect it to fall short of your quality goal"


class Stance(str, Enum):
    FOR = "for"
    AGAINST = "against"
    NOTE = "note"


@dataclass(frozen=True)
class Reason:
    stance: Stance
    text: str
    blocks: Verdict | None = None
    """The verdict this finding decides when no earlier rule fires: the verdict
    is always the first one the reasons block on, so headline and reasons agree."""
    caveat: bool = False
    """A finding against that does not block (a shortfall): the headline says it."""


@dataclass(frozen=True)
class Recommendation:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    next_steps: tuple[str, ...]
    break_even: BreakEven | None = None
    tunability: Tunability | None = None

    @property
    def headline(self) -> str:
        if self.verdict is Verdict.FINE_TUNE and any(r.caveat for r in self.reasons):
            return f"{self.verdict.headline}, {SHORT_OF_GOAL}"
        return self.verdict.headline

    @property
    def deciding(self) -> Reason | None:
        """The finding the verdict rests on (``None`` for Fine-tune: nothing blocks)."""
        return next((r for r in self.reasons if r.blocks is self.verdict), None)


def recommend(answers: Answers, *, today: date) -> Recommendation:
    use_case, alts, cost, benefit = (
        answers.use_case,
        answers.alternatives,
        answers.cost,
        answers.benefit,
    )
    reasons: list[Reason] = []

    if use_case.category is None:
        return Recommendation(
            Verdict.INCOMPLETE,
            (
                Reason(
                    Stance.NOTE,
                    "No use case chosen: what to improve decides everything else.",
                    blocks=Verdict.INCOMPLETE,
                ),
            ),
            ("Go back to Use case and pick what you want to improve.",),
        )

    model = cost.model.strip() or use_case.current_model.strip()
    tun = (
        tunability(
            cost.provider, model, today=today, org_has_openai_access=cost.org_access.as_bool()
        )
        if model
        else None
    )
    if tun is None:
        reasons.append(
            Reason(Stance.NOTE, "No model chosen: whether it can be fine-tuned is unchecked.")
        )
    else:
        reasons.append(
            Reason(Stance.FOR, tun.summary)
            if tun.tunable
            else Reason(Stance.AGAINST, tun.summary, blocks=Verdict.UNAVAILABLE)
        )
        reasons.extend(Reason(Stance.NOTE, note) for note in tun.notes)

    reasons.extend(_quality_reasons(answers))

    rag_needed = use_case.category is UseCaseCategory.KNOWLEDGE and not alts.rag_tried
    if use_case.category is UseCaseCategory.KNOWLEDGE:
        reasons.append(
            Reason(
                Stance.NOTE,
                "Fine-tuning teaches form and behaviour more reliably than facts; facts that change belong in retrieval.",
            )
        )
    if rag_needed:
        reasons.append(
            Reason(
                Stance.AGAINST,
                "RAG not tried yet: the gap is missing knowledge, which retrieval supplies.",
                blocks=Verdict.TRY_RAG,
            )
        )
    prompting_needed = (
        alts.prompting is not PromptingTried.FEW_SHOT
        and use_case.category is not UseCaseCategory.EFFICIENCY
        and not (use_case.category is UseCaseCategory.KNOWLEDGE and alts.rag_tried)
    )
    if alts.prompting is PromptingTried.NO:
        reasons.append(
            Reason(
                Stance.AGAINST,
                "Prompt engineering not tried yet: it costs minutes, fine-tuning costs days.",
                blocks=Verdict.TRY_PROMPTING if prompting_needed else None,
            )
        )
    elif alts.prompting is PromptingTried.ZERO_SHOT and prompting_needed:
        reasons.append(
            Reason(
                Stance.AGAINST,
                "Only zero-shot tried: a few examples in the prompt often close the gap.",
                blocks=Verdict.TRY_PROMPTING,
            )
        )

    measured_examples = answers.measured.examples
    examples = measured_examples if measured_examples is not None else cost.examples
    if measured_examples is not None:
        reasons.append(
            Reason(Stance.NOTE, f"Counted in your dataset: {measured_examples:,} valid examples.")
        )
    if examples is None:
        reasons.append(
            Reason(Stance.NOTE, "Number of examples unknown: the Dataset step will count them.")
        )
    elif examples < MIN_EXAMPLES:
        reasons.append(
            Reason(
                Stance.AGAINST,
                f"{examples} examples: OpenAI needs at least {MIN_EXAMPLES}, and 50-100 usually show an effect.",
                blocks=Verdict.COLLECT_DATA,
            )
        )
    elif examples < USEFUL_EXAMPLES:
        reasons.append(
            Reason(
                Stance.AGAINST,
                f"{examples} examples: 50-100 well-made ones usually show an effect; {examples} may not.",
                blocks=Verdict.COLLECT_DATA,
            )
        )
    else:
        reasons.append(
            Reason(Stance.FOR, f"{examples:,} high-quality examples: enough to expect an effect.")
        )

    break_even = compute_break_even(answers)
    reasons.extend(
        _break_even_reasons(
            answers, break_even, cost_goal=use_case.category is UseCaseCategory.EFFICIENCY
        )
    )
    if benefit.reuse is Reuse.SHARED:
        reasons.append(
            Reason(Stance.FOR, "Several teams would reuse the model: the one-off cost is shared.")
        )
    elif benefit.reuse is Reuse.RETRAIN:
        reasons.append(
            Reason(
                Stance.AGAINST,
                "It must be retrained as the data changes: budget the training cost again each time.",
            )
        )

    verdict = min(
        (r.blocks for r in reasons if r.blocks is not None),
        key=_ORDER.index,
        default=Verdict.FINE_TUNE,
    )
    # The finding the verdict rests on comes first, under the headline.
    reasons.sort(key=lambda reason: reason.blocks is not verdict)
    return Recommendation(
        verdict, tuple(reasons), _next_steps(verdict, answers, tun), break_even, tun
    )


def _quality_reasons(answers: Answers) -> list[Reason]:
    """The quality goal against the alternatives and the tuned model, on one scale.

    Every figure is a share of acceptable answers (0-100), what the target
    is. Measured figures (the Evaluate stage) replace the typed estimates:
    an estimate then stays as a note, so the two can never argue.
    """
    use_case, alts, benefit, measured = (
        answers.use_case,
        answers.alternatives,
        answers.benefit,
        answers.measured,
    )
    target = use_case.target_score
    typed_best = alts.best_score()
    base = measured.baseline_score
    tuned = measured.tuned_score
    how = f" ({measured.quality_measure})" if measured.quality_measure else ""
    reasons: list[Reason] = []

    if base is not None:
        if typed_best is not None:
            reasons.append(
                Reason(
                    Stance.NOTE,
                    f"You estimated {typed_best[0]} at {typed_best[1]:g}%; the measured figure replaces it.",
                )
            )
        alternative, best_score = "the best alternative", base
        measured_text = f"Measured on held-out examples{how}: the best alternative gives {base:g}% acceptable answers"
        if target is not None and base >= target:
            reasons.append(
                Reason(
                    Stance.AGAINST,
                    f"{measured_text}, at or above the {target:g}% you need.",
                    blocks=Verdict.NOT_NEEDED,
                )
            )
        elif target is not None:
            reasons.append(
                Reason(
                    Stance.FOR,
                    f"{measured_text}; you need {target:g}% ({target - base:g} points short).",
                )
            )
        else:
            reasons.append(Reason(Stance.NOTE, measured_text + "."))
    elif typed_best is not None:
        alternative, best_score = typed_best
        if target is not None and best_score >= target:
            reasons.append(
                Reason(
                    Stance.AGAINST,
                    f"{_cap(alternative)} already reaches {best_score:g}%, at or above the {target:g}% you need.",
                    blocks=Verdict.NOT_NEEDED,
                )
            )
        elif target is not None:
            reasons.append(
                Reason(
                    Stance.FOR,
                    f"{_cap(alternative)} reaches {best_score:g}%; you need {target:g}% "
                    f"({target - best_score:g} points short).",
                )
            )
    else:
        alternative, best_score = "", None
        if alts.prompting is not PromptingTried.NO:
            reasons.append(
                Reason(
                    Stance.NOTE,
                    "You tried prompting but gave no score: measure it on 20+ real inputs.",
                )
            )

    expected = benefit.expected_score
    if tuned is not None:
        if expected is not None:
            reasons.append(
                Reason(
                    Stance.NOTE,
                    f"You expected {expected:g}% after fine-tuning; the measured figure replaces it.",
                )
            )
        subject = f"Measured{how}: the tuned model gives {tuned:g}% acceptable answers"
    elif expected is not None:
        subject = f"You expect {expected:g}% after fine-tuning"
    else:
        return reasons
    score = tuned if tuned is not None else expected
    assert score is not None
    if best_score is not None:
        gain = score - best_score
        if gain > 0:
            reasons.append(Reason(Stance.FOR, f"{subject}: {gain:+g} points over {alternative}."))
        else:
            reasons.append(
                Reason(
                    Stance.AGAINST,
                    f"{subject}: {gain:+g} points over {alternative}, no better.",
                    blocks=Verdict.NO_GAIN,
                )
            )
    if target is not None and score < target:
        reasons.append(
            Reason(
                Stance.AGAINST,
                f"{subject}, below the {target:g}% you need ({target - score:g} points short).",
                caveat=True,
            )
        )
    return reasons


def _break_even_reasons(answers: Answers, be: BreakEven | None, *, cost_goal: bool) -> list[Reason]:
    """The break-even; when the goal is cost, never paying back (or after two years) decides."""
    benefit = answers.benefit
    blocks = Verdict.NOT_WORTH_IT if cost_goal else None
    if be is None:
        return [
            Reason(
                Stance.NOTE,
                "No break-even yet: it needs a training or preparation cost, prompt tokens before and after, and prices.",
            )
        ]
    reasons: list[Reason] = []
    if be.requests is None:
        reasons.append(
            Reason(
                Stance.AGAINST,
                f"Each request would cost {_money(-be.saving_per_request, digits=6)} more, not less: "
                "the fine-tuned model's higher token price outweighs the shorter prompt.",
                blocks=blocks,
            )
        )
        return reasons
    text = f"Pays back {_money(be.training_cost)} after {be.requests:,.0f} requests ({_money(be.saving_per_request, digits=6)} saved each)"
    if be.months is not None:
        text += f", about {be.months:,.1f} months at {benefit.requests_per_month:,} a month"
    if be.months is not None and be.months > PAYBACK_LIMIT_MONTHS:
        reasons.append(Reason(Stance.AGAINST, text + ".", blocks=blocks))
    else:
        reasons.append(Reason(Stance.FOR, text + "."))
    if benefit.price_now is None or benefit.price_after is None:
        reasons.append(
            Reason(
                Stance.NOTE,
                f"Token prices from the price list of {PRICES_AS_OF}; check today's before budgeting.",
            )
        )
    return reasons


def _next_steps(verdict: Verdict, answers: Answers, tun: Tunability | None) -> tuple[str, ...]:
    if verdict is Verdict.UNAVAILABLE:
        steps = ["Pick another model or provider on the Cost step."]
        if answers.cost.provider is Provider.OPENAI:
            steps.append("Azure OpenAI still fine-tunes the GPT-4o and GPT-4.1 families.")
        steps.append(
            "Open-weights models (e.g. Llama, Qwen, SmolLM2) train on your own GPU with LoRA."
        )
        return tuple(steps)
    return {
        Verdict.NOT_NEEDED: (
            "Ship what works; keep 50+ real examples as an evaluation set.",
            "Come back when the requirement or the traffic changes.",
        ),
        Verdict.NO_GAIN: (
            "Keep the best alternative; improve its prompt or its retrieval instead.",
            "If you still want to try, improve the training data and evaluate again.",
        ),
        Verdict.TRY_RAG: (
            "Index your documents and retrieve the top 3-5 passages into the prompt.",
            "Score 20+ real questions and enter the result on Alternatives.",
        ),
        Verdict.TRY_PROMPTING: (
            "Write a prompt with 3-5 worked examples of good answers.",
            "Score 20+ real inputs and enter the result on Alternatives.",
        ),
        Verdict.COLLECT_DATA: (
            "Collect or write 50-100 examples of exactly the answers you want.",
            "Quality beats quantity: review each one as if it were shipped.",
        ),
        Verdict.NOT_WORTH_IT: (
            "Shorten the prompt you have, or move to a cheaper base model.",
            "Re-check when your volume grows: the saving scales with requests.",
        ),
        Verdict.FINE_TUNE: (
            "Next: inspect your training data (Dataset step).",
            "Hold out 10-20% of the examples to measure the result against the baseline.",
        ),
        Verdict.INCOMPLETE: ("Go back to Use case and pick what you want to improve.",),
    }[verdict]


def _money(value: float, digits: int = 2) -> str:
    if digits > 2 and abs(value) < 1:
        return f"${value:.{digits}f}".rstrip("0").rstrip(".")
    return f"${value:,.2f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
