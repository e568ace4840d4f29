"""Key sequences that fill the checklist the way a person would: keys only."""

from __future__ import annotations

from textual.pilot import Pilot


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


async def choose(pilot: Pilot, downs: int) -> None:
    """Open the focused Select, move down ``downs`` times, pick."""
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*(["down"] * downs), "enter")
    await pilot.pause()


async def fill_use_case(pilot: Pilot) -> None:
    await choose(pilot, 4)  # Shorter prompts: lower cost and latency
    await pilot.press("tab")
    await type_text(pilot, "Long prompt.")
    await pilot.press("tab")
    await type_text(pilot, "gpt-4o-mini")
    await pilot.press("tab")
    await type_text(pilot, "90")


async def fill_alternatives(pilot: Pilot) -> None:
    await choose(pilot, 2)  # Few-shot
    await pilot.press("tab")
    await type_text(pilot, "85")
    await pilot.press("tab")
    await type_text(pilot, "no refunds")


async def fill_cost(pilot: Pilot) -> None:
    # Provider (OpenAI) stays; model blank = the model used today.
    await pilot.press("tab", "tab")
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("up", "up", "enter")  # from "I don't know" up to "Yes"
    await pilot.pause()
    await pilot.press("tab")
    await type_text(pilot, "200")
    await pilot.press("tab")
    await type_text(pilot, "10")
    await pilot.press("tab")
    await type_text(pilot, "80")
    await pilot.press("tab")
    await type_text(pilot, "20")


async def fill_benefit(pilot: Pilot) -> None:
    await type_text(pilot, "95")
    await pilot.press("tab")
    await type_text(pilot, "2500")
    await pilot.press("tab")
    await type_text(pilot, "300")
    await pilot.press("tab")
    await type_text(pilot, "1000000")
