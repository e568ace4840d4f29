"""The Settings step's form for training on this machine, with the live GPU memory estimate.

The estimate reads the model's config (no weights: a folder's ``config.json``,
the Hub's cached or freshly fetched one with a short timeout, or a GGUF
header) and the visible GPUs (``nvidia-smi``) in a thread worker; configs are
kept per model so changing a number only recomputes the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from textual import getters, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Select, Static
from textual.worker import Worker, WorkerState

from backends import registry
from backends.backend import BackendError
from backends.catalog import Provider
from backends.local.settings import (
    AUTO_REFERENCE,
    FULL,
    LORA,
    LOSS_TYPES,
    PRECOMPUTED_REFERENCE,
    QLORA,
    LocalSettings,
    default_lr,
)
from backends.runs.values import DPO, SUPERVISED
from backends.tunability import tunability
from tui.screens.host import JourneyApp
from tui.screens.step import StepScreen
from tui.state import BackendChoice
from tui.widgets.form import Field, NumberInput

ADAPTER_LABELS = (
    ("LoRA (16-bit base, small adapter)", LORA),
    ("QLoRA (4-bit base, CUDA only)", QLORA),
    ("Full fine-tuning", FULL),
)
_NUMBERS: tuple[tuple[str, str, bool, float], ...] = (
    ("epochs", "Epochs", False, 0),
    ("max_steps", "Max steps", True, 1),
    ("learning_rate", "Learning rate", False, 0),
    ("batch_size", "Batch size", True, 1),
    ("grad_accum", "Grad accumulation", True, 1),
    ("max_length", "Max length", True, 8),
    ("lora_r", "LoRA r", True, 1),
    ("lora_alpha", "LoRA alpha", True, 1),
    ("lora_dropout", "LoRA dropout", False, 0),
    ("eval_steps", "Evaluate every", True, 1),
    ("save_steps", "Save every", True, 1),
    ("seed", "Seed", True, 0),
    ("gpus", "GPUs", True, 1),
    ("beta", "DPO beta", False, 0),
    ("max_prompt_length", "Max prompt length", True, 1),
    ("max_completion_length", "Max answer length", True, 1),
)
_BLANK_OK = (
    "max_steps",
    "learning_rate",
    "eval_steps",
    "max_prompt_length",
    "max_completion_length",
)
_DPO_ONLY = ("beta", "max_prompt_length", "max_completion_length", "loss_type", "reference")
OBJECTIVE_LABELS = (
    ("Supervised (SFT): chats", SUPERVISED),
    ("DPO: preference pairs", DPO),
)
REFERENCE_LABELS = (
    ("Auto: base with adapter off (LoRA), frozen copy (full)", AUTO_REFERENCE),
    ("Precompute once: no reference in memory", PRECOMPUTED_REFERENCE),
)
"""Numbers that may stay blank (the engine picks: epochs, per-adapter rate, once per epoch)."""
_ADAPTER_ONLY = ("lora_r", "lora_alpha", "lora_dropout", "target_modules")
_HINTS = {
    "epochs": "",
    "max_steps": "Blank: train for the epochs above.",
    "max_length": "",
    "learning_rate": "",
    "eval_steps": "Steps between validation losses; blank: once per epoch.",
    "save_steps": "Steps between checkpoints (resume and cancel use the last one).",
    "gpus": "More than one: accelerate launch, one process per GPU.",
    "beta": "Higher: stay closer to the reference model (0.1 is usual).",
    "max_prompt_length": "Blank: no limit of its own (a longer prompt keeps its end).",
    "max_completion_length": "Blank: no limit of its own (a longer answer keeps its start).",
}
_SWITCHES: tuple[tuple[str, str, str], ...] = (
    ("packing", "Packing", "Several short examples per sequence: faster, same tokens."),
    ("gradient_checkpointing", "Gradient checkpointing", "Less memory for ~30% more time."),
)


@dataclass
class MemoryEstimated(Message):
    text: str
    fits: bool | None
    """``None`` when no estimate could be made."""
    detail: str = ""
    """The breakdown and the assumptions (shown at the end of the form)."""


def seeded_settings(choice: BackendChoice, max_length: int | None) -> LocalSettings:
    """The settings the form starts from: earlier edits, else defaults with the data's max length

    (the Dataset step's max length, else the longest example)."""
    if choice.local is not None:
        return choice.local
    if max_length:
        return LocalSettings(max_length=max(8, max_length))
    return LocalSettings()


class LocalForm(Vertical):
    app = getters.app(JourneyApp)

    def __init__(
        self, choice: BackendChoice, model: str, settings: LocalSettings, longest: int | None
    ) -> None:
        super().__init__(id="local-form")
        self.choice = choice
        self.initial_model = model
        self.initial = settings
        self.longest = longest
        self.configs: dict[str, dict[str, Any] | str] = {}
        """Per model: its config, or why it could not be read."""
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Field(
            "Model",
            Input(
                self.initial_model,
                placeholder="hub id, model folder, or .gguf file",
                compact=True,
                id="local-model",
            ),
            "A Hugging Face id, a folder with config.json, or a GGUF file (dequantised once).",
        )
        if registry.get(registry.LOCAL).supports(objective=DPO):
            yield Field(
                "Objective",
                Select(
                    OBJECTIVE_LABELS,
                    value=self.initial.objective,
                    allow_blank=False,
                    compact=True,
                    id="local-objective",
                ),
                "DPO trains on preferred and rejected answers to the same prompt.",
            )
        yield Field(
            "Adapter",
            Select(
                ADAPTER_LABELS,
                value=self.initial.adapter,
                allow_blank=False,
                compact=True,
                id="local-adapter",
            ),
        )
        for name, label, integer, minimum in _NUMBERS:
            value = getattr(self.initial, name)
            hint = _HINTS.get(name)
            if name == "max_length" and self.longest:
                hint = f"The longest example in the dataset report has {self.longest:,} tokens."
            yield Field(
                label,
                NumberInput(
                    value,
                    minimum=minimum,
                    integer=integer,
                    placeholder=self._placeholder(name),
                    id=f"local-{name}",
                    tooltip=label,
                ),
                hint,
                id=f"field-local-{name}",
            )
        yield Field(
            "Target modules",
            Input(
                ", ".join(self.initial.target_modules),
                placeholder="all-linear, or q_proj, v_proj",
                compact=True,
                id="local-target_modules",
            ),
            "Layers that get LoRA adapters.",
            id="field-local-target_modules",
        )
        yield Field(
            "DPO loss",
            Select(
                [(name, name) for name in LOSS_TYPES],
                value=self.initial.loss_type,
                allow_blank=False,
                compact=True,
                id="local-loss_type",
            ),
            "sigmoid is the DPO paper's; ipo and hinge are common alternatives.",
            id="field-local-loss_type",
        )
        yield Field(
            "DPO reference",
            Select(
                REFERENCE_LABELS,
                value=self.initial.reference,
                allow_blank=False,
                compact=True,
                id="local-reference",
            ),
            id="field-local-reference",
        )
        for name, label, hint in _SWITCHES:
            yield Field(
                label,
                Select(
                    [("Yes", True), ("No", False)],
                    value=bool(getattr(self.initial, name)),
                    allow_blank=False,
                    compact=True,
                    id=f"local-{name}",
                ),
                hint,
            )
        yield Static("", id="memory-detail", markup=False)

    def _placeholder(self, name: str) -> str:
        if name == "learning_rate":
            rate = default_lr(self.initial.adapter, self.initial.objective)
            return f"{rate:g} for {self.initial.adapter}"
        return "unset" if name in ("max_steps", *_BLANK_OK[3:]) else ""

    def on_mount(self) -> None:
        self._show_lora_fields()
        self.estimate(self.model(), self.read_settings(), self.choice.gpus)

    # --- reading ----------------------------------------------------------------
    def model(self) -> str:
        return self.query_one("#local-model", Input).value.strip()

    def objective(self) -> str:
        found = self.query("#local-objective")
        value = found.first(Select).value if found else SUPERVISED
        return value if isinstance(value, str) else SUPERVISED

    def adapter(self) -> str:
        value = self.query_one("#local-adapter", Select).value
        return value if isinstance(value, str) else LORA

    def read_settings(self) -> LocalSettings | None:
        """The form as settings; ``None`` while a number is blank or out of range."""
        changes: dict[str, Any] = {"adapter": self.adapter(), "objective": self.objective()}
        for name in ("loss_type", "reference"):
            changes[name] = self.query_one(f"#local-{name}", Select).value
        for name, _label, _integer, _minimum in _NUMBERS:
            widget = self.query_one(f"#local-{name}", NumberInput)
            if widget.value.strip() and widget.number is None:
                return None
            if widget.number is None and name not in _BLANK_OK:
                return None
            changes[name] = widget.number
        modules = self.query_one("#local-target_modules", Input).value
        changes["target_modules"] = tuple(
            part.strip() for part in modules.split(",") if part.strip()
        )
        for name, _label, _hint in _SWITCHES:
            changes[name] = self.query_one(f"#local-{name}", Select).value is True
        base = self.choice.local or self.initial
        return LocalSettings.from_mapping({**base.to_dict(), **changes})

    def problems(self) -> list[str]:
        from backends.local.backend import CPU_QLORA_REFUSAL
        from backends.local.models import resolve_model

        found: list[str] = []
        model = self.model()
        if not model:
            found.append("Enter the model to fine-tune.")
        else:
            verdict = tunability(Provider.LOCAL, model, today=self.app.today)
            if not verdict.tunable:
                found.append(verdict.summary)
            else:
                try:
                    resolve_model(model)
                except BackendError as error:
                    found.append(str(error))
        settings = self.read_settings()
        if settings is None:
            found.append(
                "Fill in every number (max steps, learning rate and evaluation may be blank)."
            )
        else:
            found.extend(problem.message for problem in settings.problems())
            gpus = self.choice.gpus
            if settings.adapter == QLORA and gpus is not None and not gpus.any:
                found.append(CPU_QLORA_REFUSAL)
        return found

    def store(self) -> None:
        self.choice.local_model = self.model()
        settings = self.read_settings()
        if settings is not None:
            self.choice.local = settings

    # --- live estimate -----------------------------------------------------------
    def _show_lora_fields(self) -> None:
        adapter = self.adapter() != FULL
        for name in _ADAPTER_ONLY:
            self.query_one(f"#field-local-{name}").display = adapter
        dpo = self.objective() == DPO
        for name in _DPO_ONLY:
            self.query_one(f"#field-local-{name}").display = dpo
        lr = self.query_one("#local-learning_rate", NumberInput)
        rate = default_lr(self.adapter(), self.objective())
        lr.placeholder = f"{rate:g} for {self.adapter()}{' DPO' if dpo else ''}"

    @on(Select.Changed, "#local-packing, #local-gradient_checkpointing")
    def _switch_changed(self) -> None:
        self.changed()
        cast(StepScreen, self.screen).refresh_validity()

    @on(Select.Changed, "#local-objective, #local-loss_type, #local-reference")
    def _objective_changed(self) -> None:
        self._show_lora_fields()
        self.changed()
        cast(StepScreen, self.screen).refresh_validity()

    @on(Select.Changed, "#local-adapter")
    def _adapter_changed(self) -> None:
        self._show_lora_fields()
        self.changed()
        cast(StepScreen, self.screen).refresh_validity()

    @on(Input.Changed)
    def _input_changed(self) -> None:
        self.changed()

    def changed(self) -> None:
        """Recompute the estimate a moment after the typing stops."""
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.4, self._estimate_now)

    def _estimate_now(self) -> None:
        self.estimate(self.model(), self.read_settings(), self.choice.gpus)

    @work(thread=True, exclusive=True, exit_on_error=False, group="memory")
    def estimate(self, model: str, settings: LocalSettings | None, gpus: Any) -> None:
        from backends.local.memory import check_fit, estimate_memory, render_estimate, visible_gpus
        from backends.local.models import read_model_config, resolve_model

        if not model or settings is None:
            self.post_message(MemoryEstimated("Memory estimate: waiting for valid settings.", None))
            return
        config = self.configs.get(model)
        if config is None:
            self.post_message(MemoryEstimated(f"Reading the config of {model}…", None))
            try:
                config = read_model_config(resolve_model(model))
            except BackendError as error:
                config = f"No memory estimate: {error}"
            self.configs[model] = config
        if isinstance(config, str):
            self.post_message(MemoryEstimated(config, None))
            return
        if gpus is None:
            gpus = visible_gpus()
            self.choice.gpus = gpus
        try:
            estimate = estimate_memory(
                config,
                settings.adapter,
                batch_size=settings.batch_size,
                max_length=settings.max_length,
                gradient_checkpointing=settings.gradient_checkpointing,
                lora_r=settings.lora_r,
                target_modules=settings.target_modules,
                objective=settings.objective,
                precomputed_reference=settings.reference == PRECOMPUTED_REFERENCE,
            )
        except (KeyError, TypeError, ValueError) as error:
            self.post_message(MemoryEstimated(f"No memory estimate for {model}: {error}", None))
            return
        report = check_fit(estimate, gpus, settings.gpus)
        fits = all(fit.fits for fit in report.fits) and gpus.any
        lines = render_estimate(estimate, gpus, settings.gpus)
        summary = [lines[0], *(fit.line for fit in report.fits)]
        if report.warning:
            summary.append(report.warning)
        detail = [line for line in lines[1:] if line not in summary]
        self.post_message(MemoryEstimated("\n".join(summary), fits, "\n".join(detail)))

    @on(Worker.StateChanged)
    def _estimate_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "memory" and event.state is WorkerState.ERROR:
            self.post_message(MemoryEstimated(f"No memory estimate: {event.worker.error}", None))
