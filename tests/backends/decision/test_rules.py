"""Each verdict of the recommendation rules, and the break-even arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from backends.catalog import Provider
from backends.decision import (
    Answers,
    OrgAccess,
    PromptingTried,
    Reuse,
    Stance,
    UseCaseCategory,
    Verdict,
    compute_break_even,
    recommend,
)

TODAY = date(2026, 11, 24)


def ready() -> Answers:
    """Answers that clear every rule: the verdict is Fine-tune."""
    a = Answers()
    a.use_case.category = UseCaseCategory.STYLE
    a.use_case.current_model = "gpt-4o-mini"
    a.use_case.target_score = 95
    a.alternatives.prompting = PromptingTried.FEW_SHOT
    a.alternatives.prompting_score = 70
    a.cost.provider = Provider.OPENAI
    a.cost.org_access = OrgAccess.YES
    a.cost.examples = 400
    return a


def verdict(a: Answers, today: date = TODAY) -> Verdict:
    return recommend(a, today=today).verdict


def texts(a: Answers) -> list[str]:
    return [reason.text for reason in recommend(a, today=TODAY).reasons]


def test_fine_tune_when_everything_points_there() -> None:
    rec = recommend(ready(), today=TODAY)
    assert rec.verdict is Verdict.FINE_TUNE
    assert rec.headline == "Fine-tune"
    assert any("25 points short" in r.text and r.stance is Stance.FOR for r in rec.reasons)
    assert rec.next_steps[0].startswith("Next: inspect your training data")


def test_incomplete_without_a_use_case() -> None:
    assert verdict(Answers()) is Verdict.INCOMPLETE


def test_unavailable_for_a_model_the_provider_cannot_tune() -> None:
    a = ready()
    a.cost.model = "gpt-5-pro"
    rec = recommend(a, today=TODAY)
    assert rec.verdict is Verdict.UNAVAILABLE
    assert rec.headline == "Fine-tuning unavailable for that model/provider"
    assert any("Azure OpenAI" in step for step in rec.next_steps)


def test_unavailable_on_openai_after_the_wind_down_but_not_on_azure() -> None:
    a = ready()
    assert verdict(a, today=date(2027, 1, 6)) is Verdict.UNAVAILABLE
    a.cost.provider = Provider.AZURE
    assert verdict(a, today=date(2027, 1, 6)) is Verdict.FINE_TUNE


def test_unavailable_for_a_new_openai_organisation() -> None:
    a = ready()
    a.cost.org_access = OrgAccess.NO
    assert verdict(a) is Verdict.UNAVAILABLE


def test_the_model_used_today_is_checked_when_no_other_is_chosen() -> None:
    a = ready()
    a.use_case.current_model = "claude-something"
    assert verdict(a) is Verdict.UNAVAILABLE
    a.cost.model = "gpt-4.1-nano"
    assert verdict(a) is Verdict.FINE_TUNE


def test_not_needed_when_an_alternative_reaches_the_target() -> None:
    a = ready()
    a.alternatives.rag_tried = True
    a.alternatives.rag_score = 96
    rec = recommend(a, today=TODAY)
    assert rec.verdict is Verdict.NOT_NEEDED
    assert any("RAG already reaches 96%" in r.text for r in rec.reasons)


def test_no_gain_when_fine_tuning_is_not_expected_to_beat_the_alternative() -> None:
    a = ready()
    a.benefit.expected_score = 70
    rec = recommend(a, today=TODAY)
    assert rec.verdict is Verdict.NO_GAIN
    assert rec.headline == "Don't fine-tune: it does not beat the best alternative"
    assert (
        "You expect 70% after fine-tuning: +0 points over few-shot prompting, no better."
        in texts(a)
    )


def test_try_rag_when_the_gap_is_knowledge() -> None:
    a = ready()
    a.use_case.category = UseCaseCategory.KNOWLEDGE
    assert verdict(a) is Verdict.TRY_RAG
    a.alternatives.rag_tried = True
    a.alternatives.rag_score = 60
    assert verdict(a) is Verdict.FINE_TUNE


@pytest.mark.parametrize("tried", [PromptingTried.NO, PromptingTried.ZERO_SHOT])
def test_try_prompting_when_few_shot_was_not_tried(tried: PromptingTried) -> None:
    a = ready()
    a.alternatives.prompting = tried
    assert verdict(a) is Verdict.TRY_PROMPTING


def test_shorter_prompts_do_not_need_a_few_shot_trial() -> None:
    a = ready()
    a.use_case.category = UseCaseCategory.EFFICIENCY
    a.alternatives.prompting = PromptingTried.NO
    assert verdict(a) is Verdict.FINE_TUNE


@pytest.mark.parametrize(("examples", "fragment"), [(3, "needs at least 10"), (30, "may not")])
def test_collect_data_below_fifty_examples(examples: int, fragment: str) -> None:
    a = ready()
    a.cost.examples = examples
    assert verdict(a) is Verdict.COLLECT_DATA
    assert any(fragment in text for text in texts(a))


def test_unknown_example_count_does_not_block_but_is_said() -> None:
    a = ready()
    a.cost.examples = None
    assert verdict(a) is Verdict.FINE_TUNE
    assert any("Dataset step will count them" in text for text in texts(a))


def efficiency_case(requests_per_month: int) -> Answers:
    a = ready()
    a.use_case.category = UseCaseCategory.EFFICIENCY
    a.cost.prep_hours = 10
    a.cost.hourly_rate = 80
    a.cost.compute_estimate = 20
    a.benefit.prompt_tokens_now = 2500
    a.benefit.prompt_tokens_after = 300
    a.benefit.requests_per_month = requests_per_month
    return a


def test_break_even_by_hand() -> None:
    # 2,500 tokens at $0.15/M = $0.000375; 300 at the tuned $0.30/M = $0.00009; saving $0.000285.
    be = compute_break_even(efficiency_case(100_000))
    assert be is not None
    assert be.training_cost == pytest.approx(820.0)
    assert be.prep_cost == pytest.approx(800.0)
    assert be.saving_per_request == pytest.approx(0.000285)
    assert be.requests == pytest.approx(820 / 0.000285)
    assert be.months == pytest.approx(820 / 0.000285 / 100_000)
    assert be.monthly_saving == pytest.approx(28.5)


def test_not_worth_it_when_cost_savings_take_over_two_years() -> None:
    assert verdict(efficiency_case(100_000)) is Verdict.NOT_WORTH_IT  # 28.8 months
    assert verdict(efficiency_case(1_000_000)) is Verdict.FINE_TUNE  # 2.9 months


def test_never_pays_back_when_tuned_tokens_cost_more_than_they_save() -> None:
    a = efficiency_case(1_000_000)
    a.benefit.prompt_tokens_after = 2000  # 2,000 x $0.30 > 2,500 x $0.15
    be = compute_break_even(a)
    assert be is not None and be.requests is None and be.saving_per_request < 0
    assert verdict(a) is Verdict.NOT_WORTH_IT
    assert any("more, not less" in text for text in texts(a))


def test_prices_typed_by_the_person_override_the_price_list() -> None:
    a = efficiency_case(100_000)
    a.benefit.price_now = 1.0
    a.benefit.price_after = 1.0
    be = compute_break_even(a)
    assert be is not None
    assert be.saving_per_request == pytest.approx(2200 / 1_000_000)
    assert not any("price list" in text for text in texts(a))


def test_measured_training_cost_replaces_the_estimate() -> None:
    a = efficiency_case(100_000)
    a.measured.training_cost = 5.0
    be = compute_break_even(a)
    assert be is not None and be.compute_measured and be.compute_cost == 5.0
    assert be.training_cost == pytest.approx(805.0)


def test_measured_prompt_tokens_fill_blank_answers() -> None:
    a = efficiency_case(100_000)
    a.benefit.prompt_tokens_now = None
    a.benefit.prompt_tokens_after = None
    assert compute_break_even(a) is None
    a.measured.few_shot_prompt_tokens = 2500.0
    a.measured.plain_prompt_tokens = 300.0
    be = compute_break_even(a)
    assert be is not None and be.saving_per_request == pytest.approx(0.000285)
    # What the person typed wins over the measurement.
    a.benefit.prompt_tokens_after = 1000
    be = compute_break_even(a)
    assert be is not None
    assert be.saving_per_request == pytest.approx((2500 * 0.15 - 1000 * 0.30) / 1e6)


def test_no_break_even_without_costs() -> None:
    a = ready()
    assert compute_break_even(a) is None
    assert any(text.startswith("No break-even yet") for text in texts(a))


def test_local_models_need_an_inference_price_for_the_break_even() -> None:
    a = efficiency_case(100_000)
    a.cost.provider = Provider.LOCAL
    a.cost.model = "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert compute_break_even(a) is None
    a.benefit.price_after = 0.05
    assert compute_break_even(a) is not None


def test_reuse_is_weighed() -> None:
    a = ready()
    a.benefit.reuse = Reuse.SHARED
    assert any("one-off cost is shared" in text for text in texts(a))
    a.benefit.reuse = Reuse.RETRAIN
    assert any("retrained" in text for text in texts(a))


def test_measured_scores_outweigh_the_estimates() -> None:
    a = ready()
    a.benefit.expected_score = 99  # hoped for
    a.measured.baseline_score = 80
    a.measured.tuned_score = 78  # measured: no better than the best alternative
    rec = recommend(a, today=TODAY)
    assert rec.verdict is Verdict.NO_GAIN
    assert any(
        r.text.startswith("Measured: the tuned model gives 78% acceptable answers")
        for r in rec.reasons
    )
    a.measured.tuned_score = 96
    assert verdict(a) is Verdict.FINE_TUNE


def test_a_measured_baseline_that_reaches_the_target_means_no_fine_tuning() -> None:
    a = ready()  # target 95, few-shot typed in as 70
    a.measured.baseline_score = 96
    assert verdict(a) is Verdict.NOT_NEEDED
