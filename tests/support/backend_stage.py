"""The Backend stage's test machine (one H100, SmolLM2's shape) and the keys that reach it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.pilot import Pilot

from backends.local.memory import GpuInfo, GpuInventory
from tests.support.dataset_stage import wait_for_scan
from tests.support.helpers import PATIENCE_S
from tui.journey import Position

if TYPE_CHECKING:
    from tui.screens.backend import BackendLaunchScreen

GIB = 1 << 30


ONE_GPU = GpuInventory((GpuInfo(0, "NVIDIA H100 80GB HBM3", 80 * GIB, 79 * GIB),), "nvidia-smi")


SMOLLM2_135M_CONFIG = {
    "model_type": "llama",
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "tie_word_embeddings": True,
}
"""SmolLM2-135M's shape, written as a model folder so no download is needed."""


async def settle(pilot: Pilot) -> None:
    """Until every worker has finished and the app has handled what they posted."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def scan_and_enter_backend(
    pilot: Pilot, *, provider: object = None, model: str = "", walk: bool = False
) -> None:
    """The Dataset step's report of ``train.jsonl``/``valid.jsonl``, then on to Backend.

    ``provider`` / ``model``: the Dataset step's "Figures for" and "Model" (else as the checklist).
    The Decide steps and the Dataset pick step are skipped, as the command palette skips them:
    the choices the pick step stores are set and the app goes to the report (their own tests
    walk those steps). ``walk``: through every step by keys instead, typing on the pick step.
    """
    from tests.support.helpers import until
    from tui.screens.dataset.report import DatasetReportScreen

    await pilot.pause()
    app = pilot.app
    app.clear_notifications()
    if walk:
        for _ in range(5):
            await pilot.press("ctrl+n")
            await pilot.pause()
        screen = app.screen
        screen.query_one("#train-path").value = "train.jsonl"
        screen.query_one("#validation-path").value = "valid.jsonl"
        if provider is not None:
            screen.query_one("#provider").value = provider
        if model:
            screen.query_one("#model").value = model
        await pilot.pause()
        await pilot.press("ctrl+n")
    else:
        choice = app.dataset_choice
        choice.train, choice.validation = "train.jsonl", "valid.jsonl"
        if provider is not None:
            choice.provider = provider
        if model:
            choice.model = model
        app.go_to(Position(1, 1))
    await until(pilot, lambda: isinstance(app.screen, DatasetReportScreen), "the report")
    await wait_for_scan(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert app.position == Position(2, 0)


async def until_estimated(pilot: Pilot) -> None:
    """Until the local form's memory estimate is final: no rerun pending (it reruns 0.4 s after
    the last change), none running, and its verdict shown."""
    from tests.support.helpers import until

    screen = pilot.app.screen
    memory = screen.query_one("#memory")

    def final() -> bool:
        timer = screen.form._debounce
        pending = timer is not None and timer._task is not None and not timer._task.done()
        running = any(w.group == "memory" and not w.is_finished for w in pilot.app.workers)
        shown = memory.has_class("-fits") or memory.has_class("-short")
        return shown and not pending and not running

    await until(pilot, final, "the final memory estimate")
    await pilot.pause()
    await until(pilot, final, "the final memory estimate")


def choose(backend: str) -> Callable[[Pilot], object]:
    async def pick(pilot: Pilot) -> None:
        from textual.widgets import RadioButton

        pilot.app.screen.query_one(f"#choose-{backend}", RadioButton).value = True
        await pilot.pause()

    return pick


async def to_launch(pilot: Pilot, key: str, **fields: str) -> BackendLaunchScreen:
    """On to the Launch step with ``key`` entered and OpenAI's ``gpt-4o-mini-2024-07-18``."""
    from textual.widgets import Input

    from tui.screens.backend import BackendLaunchScreen

    await scan_and_enter_backend(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    pilot.app.screen.query_one("#api-key", Input).value = key
    await pilot.pause()
    pilot.app.screen.query_one("#hosted-model", Input).value = "gpt-4o-mini-2024-07-18"
    for widget_id, value in fields.items():
        pilot.app.screen.query_one(f"#{widget_id}", Input).value = value
    await pilot.pause()
    await pilot.press("ctrl+n")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BackendLaunchScreen)
    return screen


async def wait_until(condition: Callable[[], object], timeout: float = PATIENCE_S) -> None:
    """Wait for ``condition`` (a generous ceiling, never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
