"""Which model can be tuned where, on a given day (OpenAI's wind-down included)."""

from datetime import date

import pytest

from backends.catalog import OPENAI_NO_NEW_JOBS_FROM, Provider
from backends.tunability import tunability

TODAY = date(2026, 11, 24)


def test_openai_before_the_cutoff_counts_the_days_left() -> None:
    result = tunability(Provider.OPENAI, "gpt-4.1-mini", today=TODAY, org_has_openai_access=True)
    assert result.tunable
    assert "(SFT or DPO)" in result.summary
    assert result.notes[0].startswith("Only 43 days left")


def test_openai_unknown_org_is_warned_about_the_may_2026_rule() -> None:
    result = tunability(Provider.OPENAI, "gpt-4o", today=TODAY)
    assert result.tunable
    assert any("since May 2026" in note for note in result.notes)


def test_openai_new_org_cannot_tune() -> None:
    result = tunability(Provider.OPENAI, "gpt-4o", today=TODAY, org_has_openai_access=False)
    assert not result.tunable
    assert "new since May 2026" in result.summary
    assert any("Azure OpenAI and local" in note for note in result.notes)


@pytest.mark.parametrize("day", [OPENAI_NO_NEW_JOBS_FROM, date(2027, 6, 1)])
def test_openai_from_6_january_2027_nobody_can_create_jobs(day: date) -> None:
    result = tunability(Provider.OPENAI, "gpt-4o-mini", today=day, org_has_openai_access=True)
    assert not result.tunable
    assert "6 Jan 2027" in result.summary


def test_azure_keeps_tuning_after_the_openai_cutoff() -> None:
    result = tunability(Provider.AZURE, "gpt-4o-mini", today=date(2027, 3, 1))
    assert result.tunable
    assert result.entry is not None and result.entry.provider is Provider.AZURE


def test_unknown_hosted_model_lists_the_tunable_ones() -> None:
    result = tunability(Provider.OPENAI, "gpt-5-pro", today=TODAY)
    assert not result.tunable
    assert "gpt-5-pro is not fine-tunable on OpenAI" in result.summary
    assert "gpt-4o-mini" in result.notes[0]


def test_local_accepts_open_weights_and_refuses_hosted_models() -> None:
    assert tunability(Provider.LOCAL, "HuggingFaceTB/SmolLM2-135M-Instruct", today=TODAY).tunable
    assert "GGUF" in tunability(Provider.LOCAL, "/models/llama.Q4_K_M.gguf", today=TODAY).summary
    hosted = tunability(Provider.LOCAL, "gpt-4o-mini", today=TODAY)
    assert not hosted.tunable
    assert "weights are not published" in hosted.summary


def test_no_model_is_not_tunable_yet() -> None:
    assert not tunability(Provider.OPENAI, "  ", today=TODAY).tunable
