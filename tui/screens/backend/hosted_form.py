"""The Settings step's form for a hosted backend: model, objective, adaptation, hyperparameters, key.

What it offers comes from the registry entry: the objectives and adaptations the backend trains
with, its own hyperparameters (LoRA's hidden when the adaptation is full), an endpoint or a tier.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Select, Static
from textual.worker import Worker, WorkerState

from backends import model_lists, registry
from backends.catalog import hosted_models
from backends.hosted.azure import SUFFIX_RE, TRAINING_TYPES
from backends.hosted.settings import DEFAULT_AZURE_API_VERSION
from backends.hosted.spec import parse_metadata
from backends.model_lists import ModelList
from backends.runs.values import DPO, FULL, LORA, SUPERVISED
from backends.tunability import Tunability, tunability
from tui.screens.backend.plan import (
    ADAPTER_LABELS,
    OBJECTIVE_LABELS,
    hosted_backend,
    provider_of,
)
from tui.screens.step import StepScreen
from tui.state import BackendChoice
from tui.widgets.form import Field, NumberInput

HYPER_LABELS = {
    "n_epochs": "Epochs",
    "batch_size": "Batch size",
    "learning_rate_multiplier": "LR multiplier",
    "learning_rate": "Learning rate",
    "n_evals": "Evaluations",
    "n_checkpoints": "Checkpoints",
    "warmup_ratio": "Warmup ratio",
    "lora_r": "LoRA rank",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
    "beta": "DPO beta",
}
LORA_HYPER = ("lora_r", "lora_alpha", "lora_dropout")
INTEGER_HYPER = ("n_epochs", "batch_size", "n_evals", "n_checkpoints", "lora_r", "lora_alpha")
TIERS = sorted(set(TRAINING_TYPES.values()))


class HostedForm(Vertical):
    """Reads and writes a ``BackendChoice``; the key typed here stays in memory."""

    def __init__(self, choice: BackendChoice, model: str, today: date) -> None:
        super().__init__(id="hosted-form")
        self.choice = choice
        self.initial_model = model
        self.today = today
        self.info = registry.get(choice.backend)
        hosted: Any = self.info.create()  # hosted: its connection, from the environment
        self.hosted = hosted
        self.settings: Any = hosted.settings
        self.offered: ModelList | None = (
            hosted.model_list() if isinstance(hosted, model_lists.ListsModels) else None
        )
        """The models it offers where its API lists them (the kept list; refreshed on mount)."""
        self.hyper_names = self.info.hyperparameters
        self.env_has_key = self.settings.resolve_secret() is not None

    def model_names(self) -> list[str]:
        """What the model field suggests: the catalog (merged with the API's list, if any)."""
        entries = (
            self.offered.entries
            if self.offered is not None
            else hosted_models(provider_of(self.choice.backend))
        )
        offered = set(self.offered.names) if self.offered is not None else set()
        return sorted(
            {n for m in entries for n in (m.name, *m.aliases)} | set(self.info.models) | offered
        )

    def compose(self) -> ComposeResult:
        choice = self.choice
        names = self.model_names()
        yield Field(
            "Model",
            Input(
                self.initial_model,
                placeholder="gpt-4o-mini, a snapshot, or ft:… to continue training",
                suggester=SuggestFromList(names, case_sensitive=False),
                compact=True,
                id="hosted-model",
            ),
            "",
        )
        objectives = self.info.objectives
        yield Field(
            "Method",
            Select(
                [(OBJECTIVE_LABELS.get(o, o), o) for o in objectives],
                value=choice.hosted_method if choice.hosted_method in objectives else objectives[0],
                allow_blank=False,
                compact=True,
                id="hosted-method",
            ),
            None
            if DPO in objectives
            else f"{self.info.label} does not train with DPO (preference pairs).",
        )
        if self.info.adapters:
            adapters = self.info.adapters
            yield Field(
                "Adaptation",
                Select(
                    [(ADAPTER_LABELS.get(a, a), a) for a in adapters],
                    value=choice.hosted_adapter
                    if choice.hosted_adapter in adapters
                    else adapters[0],
                    allow_blank=False,
                    compact=True,
                    id="hosted-adapter",
                ),
            )
        for name in self.hyper_names:
            integer = name in INTEGER_HYPER
            field = Field(
                HYPER_LABELS[name],
                NumberInput(
                    None,
                    minimum=1 if integer else 0,
                    integer=integer,
                    placeholder="auto",
                    id=f"hyper-{name}",
                    tooltip=HYPER_LABELS[name],
                ),
                id=f"field-{name}",
            )
            field.display = self._shows(name, choice.hosted_method, choice.hosted_adapter)
            yield field
        yield Field(
            "Suffix",
            Input(
                choice.suffix, placeholder="optional: in the model name", compact=True, id="suffix"
            ),
        )
        yield Field(
            "Seed",
            NumberInput(None, integer=True, placeholder="random", id="seed", tooltip="Seed"),
        )
        yield Field(
            "Metadata",
            Input(
                choice.metadata,
                placeholder="optional: team=search, ticket=ML-42",
                compact=True,
                id="metadata",
            ),
            "Stored with the job; find it again by these keys.",
        )
        yield Field(
            "W&B project",
            Input(choice.wandb_project, placeholder="optional", compact=True, id="wandb-project"),
            "The provider sends the job's metrics to Weights & Biases (set up in your organisation).",
        )
        if self.info.endpoint_setting:
            yield Field(
                "Azure endpoint",
                Input(
                    choice.azure_endpoint or (self.settings.azure_endpoint or ""),
                    placeholder="https://NAME.openai.azure.com",
                    compact=True,
                    id="azure-endpoint",
                ),
            )
            yield Field(
                "API version",
                Input(
                    choice.api_version,
                    placeholder=self.settings.api_version or DEFAULT_AZURE_API_VERSION,
                    compact=True,
                    id="api-version",
                ),
            )
        if self.info.training_tiers:
            yield Field(
                "Training tier",
                Select(
                    [(tier, tier) for tier in TIERS],
                    value=choice.training_type or Select.NULL,
                    prompt="Standard (default)",
                    compact=True,
                    id="training-type",
                ),
            )
        yield from self.compose_key()

    def compose_key(self) -> ComposeResult:
        variable = self.settings.secret_env_var
        if self.env_has_key:
            yield Field("API key", Static(f"from ${variable}", id="key-source"))
        else:
            yield Field(
                "API key",
                Input(
                    self.choice.secret,
                    password=True,
                    placeholder=f"${variable} is not set: paste the key",
                    compact=True,
                    id="api-key",
                ),
                "Used for this session only: never saved, logged or shown.",
            )
        with Horizontal(id="key-row"):
            yield Button("Check key", id="check-key", compact=True)
            yield Static("", id="key-status", markup=False)

    def on_mount(self) -> None:
        self.show_tunability()
        if self.offered is not None and self.env_has_key:
            self.refresh_models()
        for name in self.hyper_names:
            self.query_one(f"#hyper-{name}", NumberInput).value = self.choice.hyper.get(name, "")
        self.query_one("#seed", NumberInput).value = self.choice.seed

    # --- live hints ----------------------------------------------------------
    def model(self) -> str:
        return self.query_one("#hosted-model", Input).value.strip()

    def method(self) -> str:
        value = self.query_one("#hosted-method", Select).value
        return value if isinstance(value, str) else SUPERVISED

    def adapter(self) -> str:
        """The chosen adaptation; blank where the provider decides it."""
        if not self.info.adapters:
            return ""
        value = self.query_one("#hosted-adapter", Select).value
        return value if isinstance(value, str) else self.info.adapters[0]

    def _shows(self, name: str, method: str, adapter: str) -> bool:
        """DPO's beta only with DPO; LoRA's numbers only with a LoRA adaptation."""
        if name == "beta":
            return method == DPO
        if name in LORA_HYPER:
            return (adapter or (self.info.adapters or (LORA,))[0]) != FULL
        return True

    def tunability(self, model: str) -> Tunability:
        if self.offered is not None:
            return self.offered.tunability(model, today=self.today)
        return tunability(provider_of(self.choice.backend), model, today=self.today)

    def show_tunability(self) -> None:
        verdict = self.tunability(self.model())
        lines = [verdict.summary, *verdict.notes[:1]]
        if self.offered is not None:
            lines.append(f"Model list: {self.offered.source}.")
        hint = self.query_one("#hosted-model-hint", Static)
        hint.update("\n".join(lines))
        hint.set_class(not verdict.tunable, "-blocked")

    @on(Input.Changed, "#hosted-model")
    def _model_changed(self) -> None:
        self.show_tunability()

    @on(Select.Changed, "#hosted-method")
    @on(Select.Changed, "#hosted-adapter")
    def _method_changed(self) -> None:
        for name in self.hyper_names:
            self.query_one(f"#field-{name}").display = self._shows(
                name, self.method(), self.adapter()
            )
        cast(StepScreen, self.screen).refresh_validity()

    # --- validation and storing --------------------------------------------------
    def problems(self) -> list[str]:
        found: list[str] = []
        model = self.model()
        verdict = self.tunability(model)
        if not model:
            found.append("Enter the model to fine-tune.")
        elif verdict.entry is not None and not verdict.tunable:
            found.append(verdict.summary)
        elif verdict.entry is not None and self.method() not in verdict.entry.methods:
            found.append(
                f"{verdict.entry.name} supports {', '.join(verdict.entry.methods)}, not {self.method()}."
            )
        elif (
            verdict.entry is not None
            and verdict.entry.adapters
            and self.adapter()
            and self.adapter() not in verdict.entry.adapters
        ):
            found.append(
                f"{verdict.entry.name} trains with {', '.join(verdict.entry.adapters)}, "
                f"not {self.adapter()}."
            )
        for name in ("learning_rate_multiplier", "learning_rate", "beta"):
            if name not in self.hyper_names:
                continue
            widget = self.query_one(f"#hyper-{name}", NumberInput)
            if widget.value.strip() and widget.number is not None and widget.number <= 0:
                found.append(
                    f"{HYPER_LABELS[name]}: enter a number above 0, or leave blank (auto)."
                )
        try:
            parse_metadata(self.query_one("#metadata", Input).value)
        except ValueError as error:
            found.append(str(error))
        suffix = self.query_one("#suffix", Input).value.strip()
        if suffix and self.info.training_tiers and not SUFFIX_RE.match(suffix):
            found.append("Suffix: at most 40 letters, digits, '_' or '-' on Azure.")
        elif len(suffix) > 64:
            found.append("Suffix: at most 64 characters.")
        problem = hosted_backend(self.read(), self.today).settings.missing(self.read().secret)
        if problem:
            found.append(problem)
        return found

    def read(self) -> BackendChoice:
        """The choice with what the form shows (the app's copy changes only in ``store``)."""
        hyper = {
            name: self.query_one(f"#hyper-{name}", NumberInput).value.strip()
            for name in self.hyper_names
        }
        values: dict[str, Any] = {
            "hosted_model": self.model(),
            "hosted_method": self.method(),
            "hosted_adapter": self.adapter(),
            "hyper": hyper,
            "suffix": self.query_one("#suffix", Input).value.strip(),
            "seed": self.query_one("#seed", NumberInput).value.strip(),
            "metadata": self.query_one("#metadata", Input).value.strip(),
            "wandb_project": self.query_one("#wandb-project", Input).value.strip(),
        }
        if not self.env_has_key:
            values["secret"] = self.query_one("#api-key", Input).value.strip()
        if self.info.endpoint_setting:
            values["azure_endpoint"] = self.query_one("#azure-endpoint", Input).value.strip()
            values["api_version"] = self.query_one("#api-version", Input).value.strip()
        if self.info.training_tiers:
            tier = self.query_one("#training-type", Select).value
            values["training_type"] = tier if isinstance(tier, str) else ""
        return replace(self.choice, **values)

    def store(self) -> None:
        read = self.read()
        for name in (
            "hosted_model",
            "hosted_method",
            "hosted_adapter",
            "hyper",
            "suffix",
            "seed",
            "metadata",
            "wandb_project",
            "secret",
        ):
            setattr(self.choice, name, getattr(read, name))
        for name in ("azure_endpoint", "api_version", "training_type"):
            setattr(self.choice, name, getattr(read, name))

    # --- the provider's model list ------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="model-list")
    def refresh_models(self) -> ModelList:
        """The kept list while fresh, else the API's (never raises: the catalog on failure)."""
        return model_lists.current(self.hosted, today=self.today)

    def _models_refreshed(self, offered: ModelList) -> None:
        if offered == self.offered:
            return
        self.offered = offered
        self.query_one("#hosted-model", Input).suggester = SuggestFromList(
            self.model_names(), case_sensitive=False
        )
        self.show_tunability()

    # --- check key ----------------------------------------------------------------
    @on(Button.Pressed, "#check-key")
    def _check_pressed(self) -> None:
        self.query_one("#key-status", Static).update("Checking…")
        self.check_key(self.read())

    @work(thread=True, exclusive=True, exit_on_error=False, group="check-key")
    def check_key(self, choice: BackendChoice) -> str:
        """One cheap call (list one job); nothing is uploaded."""
        return hosted_backend(choice, self.today).check()

    @on(Worker.StateChanged)
    def _checked(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "model-list" and event.state is WorkerState.SUCCESS:
            self._models_refreshed(cast(ModelList, event.worker.result))
            return
        if event.worker.group != "check-key":
            return
        status = self.query_one("#key-status", Static)
        if event.state is WorkerState.SUCCESS:
            status.update(f"✓ {event.worker.result}")
            status.set_classes("-ok")
        elif event.state is WorkerState.ERROR:
            status.update(f"✗ {event.worker.error}")
            status.set_classes("-error")
