"""The Evaluate stage's tuned model, the emulator's answers for it, and the keys that reach it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from backends.evaluate.prompts import load_examples
from tests.fakes.judge import with_judge
from tests.support.helpers import PATIENCE_S
from tui.journey import Position

TUNED = "ft:gpt-4o-mini-2024-07-18:chainline::abc123"


EVALUATE = Position(4, 0)


def responder(workdir: Path):
    """The tuned model gives the reference answer; the base model only its first sentence.

    An LLM judge (when one is set) grades the reference 5, its first sentence 3.
    """
    references = {e.user_text: e.reference for e in load_examples(workdir / "valid.jsonl").examples}

    def answer(model: str, messages: list[dict[str, Any]]) -> str:
        last = str([m for m in messages if m["role"] == "user"][-1]["content"])
        reference = references.get(last, "I am not sure.")
        if model.startswith("ft:"):
            return reference
        return reference.split(". ")[0] + "."

    return with_judge(answer)


async def wait_for_workers(pilot: Pilot, group: str, timeout: float = PATIENCE_S) -> None:
    """Until no worker of ``group`` on the current screen runs."""
    screen = pilot.app.screen
    deadline = asyncio.get_running_loop().time() + timeout
    await pilot.pause()
    while any(w.group == group and not w.is_finished for w in screen.workers):
        assert asyncio.get_running_loop().time() < deadline, f"{group} did not finish"
        await asyncio.sleep(0.05)
    await pilot.pause()


CURRENT = "ft:gpt-4o-mini-2024-07-18:org::abc123"
"""A fine-tuned model in use today (the emulator's account lists it)."""


async def open_setup(
    pilot: Pilot,
    *,
    tuned: str = TUNED,
    limit: int = 6,
    judge: str = "",
    current: str = "",
    validation: str = "valid.jsonl",
) -> None:
    """From the first step straight to Evaluate › Setup (as the palette does), filled in."""
    await pilot.pause()
    pilot.app.clear_notifications()
    pilot.app.dataset_choice.train = "train.jsonl"
    pilot.app.dataset_choice.validation = validation
    pilot.app.eval_choice.tuned = tuned
    pilot.app.eval_choice.limit = limit
    pilot.app.eval_choice.concurrency = 2
    pilot.app.eval_choice.judge = judge
    pilot.app.eval_choice.current = current
    pilot.app.go_to(EVALUATE)
    await pilot.pause()
    await wait_for_workers(pilot, "eval-availability")
    assert pilot.app.position == EVALUATE


async def run_results(pilot: Pilot, **kwargs: Any) -> None:
    """Setup filled in, then Next (a judge's price confirmed), until the results are in."""
    from tui.screens.confirm import ConfirmScreen

    await open_setup(pilot, **kwargs)
    await pilot.press("ctrl+n")
    if kwargs.get("judge"):
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmScreen), "a judge's price is confirmed first"
        await pilot.press("y")
    await wait_for_workers(pilot, "evaluate")


def hint(pilot: Pilot) -> str:
    return str(pilot.app.screen.query_one("#eval-judge-hint", Static).render())


async def until_priced(pilot: Pilot, timeout: float = PATIENCE_S) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while hint(pilot) == "Pricing the judge…":
        assert asyncio.get_running_loop().time() < deadline, "the judge was not priced"
        await pilot.pause(0.05)
    await wait_for_workers(pilot, "eval-judge-cost")
    return hint(pilot)
