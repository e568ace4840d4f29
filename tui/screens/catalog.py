"""A modal table of the models a provider can fine-tune, with prices and status."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from backends import model_lists, registry
from backends.catalog import (
    DEFAULT_LOCAL_MODEL,
    DPO,
    OPENAI_WIND_DOWN,
    PRICES_AS_OF,
    REINFORCEMENT,
    SUPERVISED,
    Provider,
    find_hosted,
    hosted_models,
)
from backends.model_lists import ModelList

if TYPE_CHECKING:
    from backends.hosted.backend import HostedBackend

METHOD_SHORT = {SUPERVISED: "SFT", DPO: "DPO", REINFORCEMENT: "RFT"}


class CatalogScreen(ModalScreen[str | None]):
    """Pick a model; Enter returns its name, Esc returns nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Close", id="close"),
        Binding("enter", "pick", "Use this model", id="pick", priority=True),
    ]

    def __init__(self, provider: Provider, *, current: str = "") -> None:
        super().__init__(classes="dialog")
        self.provider = provider
        self.current = current
        self.offered: ModelList | None = (
            model_lists.cached_for_provider(provider) if provider.accepts_unknown_models else None
        )
        """Providers whose API lists their models: the catalog merged with the kept list."""

    def compose(self) -> ComposeResult:
        with Vertical(id="catalog-box", classes="dialog-box"):
            yield Static(f"[b]Fine-tunable on {self.provider.label}[/b]", classes="dialog-title")
            if self.provider is Provider.LOCAL:
                yield Static(
                    "Any open-weights causal language model: a Hugging Face hub id, a local "
                    f"folder or a .gguf file. A small one to start with: {DEFAULT_LOCAL_MODEL} "
                    "(trains on a CPU for a demo). Hosted models (GPT-4o, GPT-4.1...) have no "
                    "published weights and cannot be trained locally.",
                    classes="dialog-text",
                )
            else:
                yield DataTable(id="catalog-table", cursor_type="row", zebra_stripes=True)
                note = (
                    f"SFT supervised, DPO preference, RFT reinforcement. USD per 1M tokens, "
                    f"price list {PRICES_AS_OF}. "
                )
                if self.provider is Provider.OPENAI:
                    note += OPENAI_WIND_DOWN
                elif self.offered is not None:
                    note = self._offered_note(self.offered)
                else:
                    note += "Azure: regional availability; see the Azure pricing page."
                yield Static(note, classes="dialog-text", markup=False, id="catalog-note")
                yield Static("", id="your-models", classes="dialog-text", markup=False)
        yield Footer()

    @staticmethod
    def _offered_note(offered: ModelList) -> str:
        return (
            f"SFT supervised, DPO preference. Models {offered.source}; USD per 1M tokens from "
            f'the price list of {PRICES_AS_OF} ("unknown": not on it). A model id not listed '
            "is accepted too: the provider decides."
        )

    def on_mount(self) -> None:
        if self.provider is Provider.LOCAL:
            return
        table = self.query_one(DataTable)
        table.add_columns("Model", "Methods", "Context", "Train", "Tuned in/out", "Status")
        self._fill(table)
        table.focus()
        self._list_your_models()
        if self.offered is not None:
            self.refresh_models()

    def _fill(self, table: DataTable[str]) -> None:
        entries = self.offered.entries if self.offered is not None else hosted_models(self.provider)
        for entry in entries:
            prices = entry.prices
            train = (
                ("unknown" if self.offered is not None else "—")
                if prices.training is None
                else f"${prices.training:g}"
            )
            tuned = (
                "—"
                if prices.tuned_input is None or prices.tuned_output is None
                else f"${prices.tuned_input:g}/${prices.tuned_output:g}"
            )
            status = "legacy" if entry.legacy else "current"
            table.add_row(
                entry.aliases[0] if entry.aliases else entry.name,
                " ".join(METHOD_SHORT[method] for method in entry.methods),
                f"{entry.context_tokens // 1024}k",
                train,
                tuned,
                status,
                key=entry.name,
            )
        if self.offered is not None:
            current = self.offered.find(self.current) if self.current else None
        else:
            current = find_hosted(self.provider, self.current) if self.current else None
        if current is not None:
            table.move_cursor(row=table.get_row_index(current.name))

    @work(thread=True, exclusive=True, exit_on_error=False, group="model-list")
    def refresh_models(self) -> None:
        """The provider's own list (kept while fresh), in a worker: the table never waits."""
        from backends import registry as backends

        info = backends.for_provider(self.provider)
        if info is None or not info.key_env or not os.environ.get(info.key_env):
            return
        hosted = info.create()
        if not isinstance(hosted, model_lists.ListsModels):
            return
        offered = model_lists.current(hosted)
        self.app.call_from_thread(self._show_models, offered)

    def _show_models(self, offered: ModelList) -> None:
        if not self.is_attached or offered == self.offered:
            return
        self.offered = offered
        table = self.query_one(DataTable)
        table.clear()
        self._fill(table)
        self.query_one("#catalog-note", Static).update(self._offered_note(offered))

    def _list_your_models(self) -> None:
        """The account's fine-tuned models (from its jobs), in a worker: never blocking."""
        info = registry.for_provider(self.provider)
        line = self.query_one("#your-models", Static)
        if info is None or not info.hosted or not info.key_env:
            line.display = False
            return
        if not os.environ.get(info.key_env):
            line.update(f"Set {info.key_env} to list your fine-tuned models.")
            return
        line.update("Your fine-tuned models: asking the API…")
        self.load_your_models(info.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="your-models")
    def load_your_models(self, backend: str) -> None:
        from backends.backend import BackendError
        from backends.hosted.api import fine_tuned_models
        from backends.text import printable_line

        try:
            hosted = cast("HostedBackend", registry.get(backend).create())
            jobs = hosted.list_jobs(limit=100)
            models = [str(job.fine_tuned_model) for job in fine_tuned_models(jobs)]
            text = (
                "Your fine-tuned models: " + ", ".join(printable_line(m) for m in models)
                if models
                else "No fine-tuned models on this account yet."
            )
        except BackendError as error:
            text = f"Your fine-tuned models could not be listed: {printable_line(str(error))}"
        self.app.call_from_thread(self._show_your_models, text)

    def _show_your_models(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#your-models", Static).update(text)

    def action_pick(self) -> None:
        if self.provider is Provider.LOCAL:
            self.dismiss(DEFAULT_LOCAL_MODEL)
            return
        table = self.query_one(DataTable)
        if table.row_count == 0:
            self.dismiss(None)
            return
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        self.dismiss(str(row_key.value))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
