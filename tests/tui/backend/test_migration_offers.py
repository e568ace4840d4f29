"""After OpenAI: the Cost, Where-to-train and Launch steps offer the other backends, and taking an
offer pre-fills the Backend stage with its backend and model (the data stays the same)."""

from __future__ import annotations

from datetime import date

import orjson
from textual.widgets import Input, OptionList, RadioButton, Static

from tests.fakes.finetune_api import FineTuneAPI
from tests.support.backend_stage import scan_and_enter_backend, settle, to_launch, wait_until
from tests.support.decisions import complete_answers, write_decision
from tests.support.screen_text import screen_rows
from tui.journey import Position
from tui.screens.backend import BackendSettingsScreen, BackendWhereScreen
from tui.screens.decide.cost import CostScreen

CLOSED = date(2027, 2, 1)
"""A day after OpenAI's last day for new fine-tuning jobs (6 January 2027)."""
TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def take(pilot, index: int) -> None:
    listing = pilot.app.screen.query_one("#offers-list", OptionList)
    listing.focus()
    listing.highlighted = index
    await pilot.press("enter")
    await settle(pilot)


async def test_cost_step_offers_the_others_and_the_backend_stage_is_pre_filled(
    make_app, workdir
) -> None:
    write_decision(complete_answers())
    app = make_app(today=CLOSED)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CostScreen)
        assert screen.query_one("#offers").display
        assert "creates no new fine-tuning jobs since 6 January 2027" in text(
            screen, "#offers-reason"
        )
        listing = screen.query_one("#offers-list", OptionList)
        labels = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        assert labels[1] == f"Together AI: {TOGETHER_MODEL}"
        await take(pilot, 1)
        assert app.backend_choice.backend == "together"
        assert app.backend_choice.hosted_model == TOGETHER_MODEL
        assert "Offer taken" in app.backend_choice.offer_reason
        assert screen.query_one("#model", Input).value == TOGETHER_MODEL
        assert not screen.query_one("#offers").display  # Together trains: nothing to offer
        app.go_to(Position(0, 0))
        await settle(pilot)
        await scan_and_enter_backend(pilot)
        where = app.screen
        assert isinstance(where, BackendWhereScreen)
        assert where.chosen() == "together"
        assert app.dataset_choice.train == "train.jsonl"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, BackendSettingsScreen)
        assert app.screen.query_one("#hosted-model", Input).value == TOGETHER_MODEL


async def test_cost_step_offers_for_an_organisation_without_access(make_app, workdir) -> None:
    from backends.decision import OrgAccess

    answers = complete_answers()
    answers.cost.org_access = OrgAccess.NO
    write_decision(answers)
    app = make_app()  # before the date: the organisation rule alone
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        assert "organisations created since May 2026" in text(app.screen, "#offers-reason")
        app.screen.query_one("#org-access").value = OrgAccess.YES
        await settle(pilot)
        assert not app.screen.query_one("#offers").display


async def test_where_step_offers_the_others_and_taking_one_chooses_it(make_app, workdir) -> None:
    app = make_app(today=CLOSED)
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        screen = app.screen
        assert isinstance(screen, BackendWhereScreen)
        assert screen.query_one("#offers").display
        listing = screen.query_one("#offers-list", OptionList)
        local = next(
            i for i in range(listing.option_count) if listing.get_option_at_index(i).id == "local"
        )
        await take(pilot, local)
        assert screen.chosen() == "local"
        assert screen.query_one("#choose-local", RadioButton).value
        assert app.backend_choice.local_model == "Qwen/Qwen2.5-1.5B-Instruct"
        assert screen.problems() == []
        await pilot.press("ctrl+n")
        await settle(pilot)
        # The decision record notes where it trains and why: the offer taken.
        record = orjson.loads((workdir / ".finetune" / "decision.json").read_bytes())
        training = record["answers"]["training"]
        assert training["backend"] == "local" and training["label"] == "Local GPU"
        assert training["model"] == "Qwen/Qwen2.5-1.5B-Instruct"
        assert training["reason"].startswith("Offer taken: OpenAI creates no new fine-tuning jobs")
        markdown = (workdir / ".finetune" / "decision.md").read_text()
        assert "## Where it trains" in markdown
        assert "- Provider: Local GPU; model Qwen/Qwen2.5-1.5B-Instruct" in markdown
        assert "- Why: Offer taken: OpenAI creates no new fine-tuning jobs" in markdown


async def test_the_users_own_pick_is_noted_as_such(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        app.screen.query_one("#choose-azure", RadioButton).value = True
        await pilot.press("ctrl+n")
        await settle(pilot)
        record = orjson.loads((workdir / ".finetune" / "decision.json").read_bytes())
        assert record["answers"]["training"]["backend"] == "azure"
        assert record["answers"]["training"]["reason"] == "The user's pick."


async def test_before_the_date_with_access_nothing_is_offered(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        assert not app.screen.query_one("#offers").display


async def test_a_403_at_launch_offers_the_others_and_leads_back_to_settings(
    make_app, workdir, refusing_emulator: FineTuneAPI, monkeypatch
) -> None:
    """As a user does it, by keys: the refusal in one line, the offers focused, Launch greyed
    out; arrows and Enter take Together, and Settings opens on it with the same data."""
    monkeypatch.setenv("OPENAI_BASE_URL", refusing_emulator.base_url)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_launch(pilot, refusing_emulator.api_key)
        await pilot.press("ctrl+n", "y")
        await wait_until(lambda: screen.query_one("#offers").display and not screen.launching)
        await settle(pilot)
        assert "OpenAI refused to create the job" in text(screen, "#offers-reason")
        status = text(screen, "#launch-status")
        assert "refused to create the job (403)" in status and "not available" in status
        assert refusing_emulator.api_key not in status
        listing = screen.query_one("#offers-list", OptionList)
        assert app.focused is listing and listing.highlighted == 0
        region = listing.region
        assert region.height > 0 and region.bottom <= screen.query_one("#form").region.bottom
        assert "⏎ Take offer" in "\n".join(screen_rows(app))
        assert screen.problems() == ["OpenAI will not take it: take an offer, or Back."]
        assert "Ready to launch" not in text(screen, "#launch-checks")
        await pilot.press("ctrl+n")  # Launch is greyed out: nothing is sent again
        await settle(pilot)
        assert app.screen is screen and len(refusing_emulator.jobs) == 0
        ids = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
        for _ in range(ids.index("together")):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, BackendSettingsScreen))
        await settle(pilot)
        assert app.backend_choice.backend == "together"
        assert app.screen.query_one("#hosted-model", Input).value == TOGETHER_MODEL
        assert app.dataset_choice.train == "train.jsonl"
        assert app.dataset_choice.validation == "valid.jsonl"
        assert "Offer taken" in app.backend_choice.offer_reason
