"""From answers to a recommendation, by explicit rules.

``recommend`` first collects every finding the answers support (each a
``Reason`` for or against fine-tuning, or a plain note), then picks the
verdict of the first rule that fires, in this order:

1. INCOMPLETE     no use case chosen yet
2. UNAVAILABLE    the chosen model cannot be fine-tuned where the person wants
3. NOT_NEEDED     an alternative already reaches the target, or fine-tuning is
                  not expected to beat the best alternative
4. TRY_RAG        the gap is missing knowledge and RAG was not tried
5. TRY_PROMPTING  few-shot prompting was not tried (not for "shorter prompts",
                  whose point is to drop a working prompt)
6. COLLECT_DATA   fewer than 50 high-quality examples (10 is OpenAI's minimum)
7. NOT_WORTH_IT   the goal is cost and the training never pays back, or only
                  after more than two years
8. FINE_TUNE      otherwise

Every verdict carries all the reasons, so a person sees what else stands in
the way once the first obstacle is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from backends.catalog import (
    PRICES_AS_OF,
    Provider,
    Tunability,
    tunability,
)
from backends.decision.answers import Answers, PromptingTried, Reuse, UseCaseCategory
from backends.decision.break_even import (
    BreakEven,
    compute_break_even,
)

MIN_EXAMPLES = 10
"""OpenAI refuses a training file with fewer examples."""
USEFUL_EXAMPLES = 50
"""50-100 well-made examples is where fine-tuning usually starts to show an effect."""
PAYBACK_LIMIT_MONTHS = 24


class Verdict(str, Enum):
    INCOMPLETE = "incomplete"
    UNAVAILABLE = "unavailable"
    NOT_NEEDED = "not_needed"
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
    Verdict.TRY_RAG: "Try RAG first: your gap is missing knowledge",
    Verdict.TRY_PROMPTING: "Try few-shot prompting first",
    Verdict.COLLECT_DATA: "Collect more data first",
    Verdict.NOT_WORTH_IT: "Fine-tuning won't pay for itself",
    Verdict.FINE_TUNE: "Fine-tune",
}


class Stance(str, Enum):
    FOR = "for"
    AGAINST = "against"
    NOTE = "note"


@dataclass(frozen=True)
class Reason:
    stance: Stance
    text: str


@dataclass(frozen=True)
class Recommendation:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    next_steps: tuple[str, ...]
    break_even: BreakEven | None = None
    tunability: Tunability | None = None

    @property
    def headline(self) -> str:
        return self.verdict.headline


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
            (Reason(Stance.NOTE, "No use case chosen: what to improve decides everything else."),),
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
        reasons.append(Reason(Stance.FOR if tun.tunable else Stance.AGAINST, tun.summary))
        reasons.extend(Reason(Stance.NOTE, note) for note in tun.notes)

    best = alts.best_score()
    target = use_case.target_score
    expected = benefit.expected_score
    target_met = best is not None and target is not None and best[1] >= target
    no_expected_gain = best is not None and expected is not None and expected <= best[1]
    # What the Evaluate stage measured outweighs what was estimated by hand.
    measured_base, measured_tuned = answers.measured.baseline_score, answers.measured.tuned_score
    if measured_base is not None and target is not None and measured_base >= target:
        target_met = True
    if measured_base is not None and measured_tuned is not None:
        no_expected_gain = measured_tuned <= measured_base
    if best is not None and target is not None:
        gap = target - best[1]
        if gap > 0:
            reasons.append(
                Reason(
                    Stance.FOR,
                    f"{_cap(best[0])} reaches {best[1]:g}%; you need {target:g}% ({gap:g} points short).",
                )
            )
        else:
            reasons.append(
                Reason(
                    Stance.AGAINST,
                    f"{_cap(best[0])} already reaches {best[1]:g}%, at or above the {target:g}% you need.",
                )
            )
    elif best is None and alts.prompting is not PromptingTried.NO:
        reasons.append(
            Reason(
                Stance.NOTE, "You tried prompting but gave no score: measure it on 20+ real inputs."
            )
        )
    if best is not None and expected is not None:
        gain = expected - best[1]
        stance = Stance.FOR if gain > 0 else Stance.AGAINST
        reasons.append(
            Reason(
                stance,
                f"You expect {expected:g}% after fine-tuning: {gain:+g} points over {best[0]}.",
            )
        )

    reasons.extend(_measured_reasons(answers))

    rag_needed = use_case.category is UseCaseCategory.KNOWLEDGE and not alts.rag_tried
    if use_case.category is UseCaseCategory.KNOWLEDGE:
        reasons.append(
            Reason(
                Stance.NOTE,
                "Fine-tuning teaches form and behaviour more reliably than facts; facts that change belong in retrieval.",
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
            )
        )
    elif alts.prompting is PromptingTried.ZERO_SHOT and prompting_needed:
        reasons.append(
            Reason(
                Stance.AGAINST,
                "Only zero-shot tried: a few examples in the prompt often close the gap.",
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
            )
        )
    elif examples < USEFUL_EXAMPLES:
        reasons.append(
            Reason(
                Stance.AGAINST,
                f"{examples} examples: 50-100 well-made ones usually show an effect; {examples} may not.",
            )
        )
    else:
        reasons.append(
            Reason(Stance.FOR, f"{examples:,} high-quality examples: enough to expect an effect.")
        )

    break_even = compute_break_even(answers)
    reasons.extend(_break_even_reasons(answers, break_even))
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

    never_pays = break_even is not None and (
        break_even.requests is None
        or (break_even.months is not None and break_even.months > PAYBACK_LIMIT_MONTHS)
    )

    if tun is not None and not tun.tunable:
        verdict = Verdict.UNAVAILABLE
    elif target_met or no_expected_gain:
        verdict = Verdict.NOT_NEEDED
    elif rag_needed:
        verdict = Verdict.TRY_RAG
    elif prompting_needed:
        verdict = Verdict.TRY_PROMPTING
    elif examples is not None and examples < USEFUL_EXAMPLES:
        verdict = Verdict.COLLECT_DATA
    elif use_case.category is UseCaseCategory.EFFICIENCY and never_pays:
        verdict = Verdict.NOT_WORTH_IT
    else:
        verdict = Verdict.FINE_TUNE
    return Recommendation(
        verdict, tuple(reasons), _next_steps(verdict, answers, tun), break_even, tun
    )


def _measured_reasons(answers: Answers) -> list[Reason]:
    """What the Evaluate stage measured on held-out examples (0-100, like the target)."""
    measured = answers.measured
    baseline, tuned = measured.baseline_score, measured.tuned_score
    if tuned is not None and baseline is not None:
        gain = tuned - baseline
        return [
            Reason(
                Stance.FOR if gain > 0 else Stance.AGAINST,
                f"Measured: the tuned model scores {tuned:g} against {baseline:g} for the best "
                f"alternative on held-out examples ({gain:+.2f} points).",
            )
        ]
    if baseline is not None:
        return [
            Reason(
                Stance.NOTE,
                f"Measured: the best alternative scores {baseline:g} on held-out examples.",
            )
        ]
    return []


def _break_even_reasons(answers: Answers, be: BreakEven | None) -> list[Reason]:
    benefit = answers.benefit
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
            )
        )
        return reasons
    text = f"Pays back {_money(be.training_cost)} after {be.requests:,.0f} requests ({_money(be.saving_per_request, digits=6)} saved each)"
    if be.months is not None:
        text += f", about {be.months:,.1f} months at {benefit.requests_per_month:,} a month"
    stance = (
        Stance.AGAINST if be.months is not None and be.months > PAYBACK_LIMIT_MONTHS else Stance.FOR
    )
    reasons.append(Reason(stance, text + "."))
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
