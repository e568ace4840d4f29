"""The hosted Settings form offers the backend's objectives and adaptations (registry), and the
launch price is the catalog's for the chosen objective and adaptation."""

from __future__ import annotations

from textual.widgets import Select

from tests.support.backend_stage import choose, scan_and_enter_backend, settle
from tui.screens.backend import BackendSettingsScreen
from tui.screens.backend.plan import (
    ADAPTER_LABELS,
    build_spec,
    hosted_adapter,
    price_line,
    settings_lines,
)
from tui.state import BackendChoice, DatasetChoice

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
ONE_ADAPTER = "Qwen/Qwen2.5-14B-Instruct"


async def test_together_form_offers_lora_or_full_and_sft_or_dpo(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await scan_and_enter_backend(pilot)
        await choose("together")(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackendSettingsScreen)
        screen.query_one("#api-key").value = "tg-typed-0123456789"
        adapter = screen.query_one("#hosted-adapter", Select)
        method = screen.query_one("#hosted-method", Select)
        assert [value for _, value in adapter._options] == ["lora", "full"]
        assert [value for _, value in method._options] == ["supervised", "dpo"]
        assert adapter.value == "lora" and screen.query_one("#field-lora_r").display
        adapter.value = "full"
        method.value = "dpo"
        await pilot.pause()
        assert not screen.query_one("#field-lora_r").display
        assert screen.query_one("#field-beta").display
        screen.query_one("#hosted-model").value = ONE_ADAPTER
        await pilot.pause()
        assert f"{ONE_ADAPTER} trains with lora, not full." in screen.problems()
        adapter.value = "lora"
        await pilot.pause()
        assert screen.problems() == []
        await pilot.press("ctrl+n")
        await settle(pilot)
        choice = app.backend_choice
        assert (choice.hosted_method, choice.hosted_adapter) == ("dpo", "lora")


def test_openai_form_has_no_adaptation_to_choose() -> None:
    choice = BackendChoice(backend="openai", hosted_model="gpt-4o-mini", hosted_adapter="full")
    assert hosted_adapter(choice) is None
    assert "Adaptation" not in dict(settings_lines(choice))


def test_launch_price_uses_objective_and_adaptation(tmp_path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("{}\n")
    data = DatasetChoice(train=str(train))
    prices = {}
    for method in ("supervised", "dpo"):
        for adapter in ("lora", "full"):
            choice = BackendChoice(
                backend="together", hosted_model=MODEL, hosted_method=method, hosted_adapter=adapter
            )
            prices[method, adapter] = price_line(choice, None)
            assert build_spec(choice, data, hash_files=False).adapter == adapter
            assert ("Adaptation", ADAPTER_LABELS[adapter]) in settings_lines(choice)
    assert prices == {
        ("supervised", "lora"): "Price: $0.48 per 1M training tokens (SFT, LoRA; inspect the data for a total).",
        ("supervised", "full"): "Price: $0.54 per 1M training tokens (SFT, full; inspect the data for a total).",
        ("dpo", "lora"): "Price: $1.20 per 1M training tokens (DPO, LoRA; inspect the data for a total).",
        ("dpo", "full"): "Price: $1.35 per 1M training tokens (DPO, full; inspect the data for a total).",
    }  # fmt: skip
    full = BackendChoice(backend="together", hosted_model=MODEL, hosted_adapter="full")
    assert "lora_r" not in dict(settings_lines(full))["Hyperparameters"]
    unknown = BackendChoice(backend="together", hosted_model="someone/new-model")
    assert "see the provider's price list" in price_line(unknown, None)
