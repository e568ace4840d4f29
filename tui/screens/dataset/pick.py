"""Dataset step 1: which data to train on (a file, a dataset folder, a hub id, or the sample)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Button, DirectoryTree, Input, Select

from backends.catalog import CATALOG, DATA_PROVIDERS, Provider
from tui.journey import Position
from tui.screens.step import StepScreen
from tui.state import DatasetChoice
from tui.widgets.form import Field, NumberInput
from tui.widgets.path_suggester import PathSuggester

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".arrow")
MODEL_NAMES = sorted({name for entry in CATALOG for name in (entry.name, *entry.aliases)})


def show_path(field: Input, path: Path) -> None:
    """Put a path in a field, scrolled so its end (the file's name) shows, however long the path."""
    field.value = str(path)
    field.cursor_position = len(field.value)

    def to_end() -> None:
        field.scroll_to(x=field.max_scroll_x, animate=False, immediate=True)

    field.call_after_refresh(to_end)


class DataTree(DirectoryTree):
    """The current folder, showing folders and the file types the Dataset step reads."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".")
            and (path.is_dir() or path.suffix.lower() in DATA_SUFFIXES)
        ]


class DatasetPickScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(1, 0)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f3", "use_sample", "Sample data", id="sample"),
    ]

    def compose_form(self) -> ComposeResult:
        choice: DatasetChoice = self.app.dataset_choice
        yield Field(
            "Training data",
            Input(
                choice.train,
                placeholder="train.jsonl, a dataset folder, or owner/name",
                suggester=PathSuggester(DATA_SUFFIXES),
                compact=True,
                id="train-path",
            ),
            "JSONL (chat, DPO, prompt/completion, Alpaca, ShareGPT) or a Hugging Face dataset. → completes.",
        )
        yield Field(
            "Validation data",
            Input(
                choice.validation,
                placeholder="optional: valid.jsonl",
                suggester=PathSuggester(DATA_SUFFIXES),
                compact=True,
                id="validation-path",
            ),
            "Optional; held-out examples measure overfitting.",
        )
        yield Field(
            "Figures for",
            Select(
                [(provider.label, provider) for provider in DATA_PROVIDERS],
                value=choice.provider,
                allow_blank=False,
                compact=True,
                id="provider",
            ),
        )
        yield Field(
            "Model",
            Input(
                choice.model,
                placeholder="gpt-4o-mini",
                suggester=SuggestFromList(MODEL_NAMES, case_sensitive=False),
                compact=True,
                id="model",
            ),
            "Sets the tokenizer, the context limit and the price (from the Cost step).",
        )
        max_length = NumberInput(
            choice.max_length, integer=True, minimum=16, id="max-length", placeholder="e.g. 2048"
        )
        max_length.tooltip = "Max length"
        yield Field(
            "Max length (tokens)",
            max_length,
            "Local training truncates longer examples; counted with the model's own tokenizer.",
            id="max-length-field",
        )
        yield Button("Try with the sample dataset (F3)", id="sample-button", compact=True)
        yield DataTree(".", id="data-tree")

    def problems(self) -> list[str]:
        from backends.data.sources import describe_problem

        found = super().problems()
        problem = describe_problem(self.query_one("#train-path", Input).value)
        if problem:
            found.append(problem)
        return found

    @on(DirectoryTree.FileSelected)
    def _file_picked(self, event: DirectoryTree.FileSelected) -> None:
        show_path(self.query_one("#train-path", Input), event.path)
        self.query_one("#train-path", Input).focus()

    @on(Button.Pressed, "#sample-button")
    def _sample_pressed(self) -> None:
        self.action_use_sample()

    def action_use_sample(self) -> None:
        from backends.data.samples import sample_dataset

        sample = sample_dataset()
        show_path(self.query_one("#train-path", Input), sample.train)
        show_path(self.query_one("#validation-path", Input), sample.validation)
        self.refresh_validity()

    def on_mount(self) -> None:
        super().on_mount()
        self._show_local_fields()

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._show_local_fields()
        self.refresh_validity()

    def _show_local_fields(self) -> None:
        local = self.query_one("#provider", Select).value is Provider.LOCAL
        self.query_one("#max-length-field").display = local

    def store(self) -> None:
        choice: DatasetChoice = self.app.dataset_choice
        choice.train = self.query_one("#train-path", Input).value.strip()
        choice.validation = self.query_one("#validation-path", Input).value.strip()
        provider = self.query_one("#provider", Select).value
        choice.provider = provider if isinstance(provider, Provider) else Provider.OPENAI
        choice.model = self.query_one("#model", Input).value.strip() or "gpt-4o-mini"
        choice.max_length = self.query_one("#max-length", NumberInput).whole_number
