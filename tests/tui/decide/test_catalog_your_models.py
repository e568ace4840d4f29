"""F2 lists the account's fine-tuned models (from its jobs) in a worker, or says how to see them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from textual.widgets import Static

from backends.catalog import Provider
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.data_files import write_jsonl
from tests.support.helpers import PATIENCE_S
from tui.screens.catalog import CatalogScreen


def finished_job(api: FineTuneAPI, tmp_path: Path) -> str:
    """One job run to its end on the emulator: its fine-tuned model's name."""
    data = tmp_path / "train.jsonl"
    write_jsonl(
        data,
        [
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": "a"},
                ]
            }
            for i in range(10)
        ],
    )
    client = openai.OpenAI(api_key=api.api_key, base_url=api.base_url)
    training = client.files.create(file=data, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    api.run_to_end(job.id)
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert model
    return model


async def shown(app, timeout: float = PATIENCE_S) -> str:
    line = app.screen.query_one("#your-models", Static)
    deadline = asyncio.get_running_loop().time() + timeout
    while "asking the API" in str(line.render()):
        assert asyncio.get_running_loop().time() < deadline, "the models were not listed"
        await asyncio.sleep(0.05)
    return str(line.render())


async def test_without_a_key_f2_says_how_to_list_them(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(CatalogScreen(Provider.OPENAI))
        await pilot.pause()
        assert await shown(app) == "Set OPENAI_API_KEY to list your fine-tuned models."


async def test_with_a_key_f2_lists_the_accounts_fine_tuned_models(
    make_app, emulator: FineTuneAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = finished_job(emulator, tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(CatalogScreen(Provider.OPENAI))
        await pilot.pause()
        assert app.screen.query_one("#catalog-table").has_focus  # the table is usable at once
        text = await shown(app)
        assert text == f"Your fine-tuned models: {model}"
        assert emulator.api_key not in text
