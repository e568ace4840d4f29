"""What the app remembers between steps beyond the checklist answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backends.catalog import Provider
from backends.decision import Answers

if TYPE_CHECKING:
    from backends.local.memory import GpuInventory
    from backends.local.settings import LocalSettings


@dataclass
class DatasetChoice:
    """The data the Dataset step inspects, and the model its figures are for."""

    train: str = ""
    validation: str = ""
    provider: Provider = Provider.OPENAI
    model: str = "gpt-4o-mini"
    max_length: int | None = None
    """Local training's longest sequence: longer examples are truncated."""

    @classmethod
    def from_answers(cls, answers: Answers) -> DatasetChoice:
        """Start from the checklist: its provider and model, and the file measured last time."""
        cost = answers.cost
        model = cost.model.strip() or answers.use_case.current_model.strip() or "gpt-4o-mini"
        return cls(train=answers.measured.source, provider=cost.provider, model=model)

    def to_saved(self) -> dict[str, Any]:
        return {
            "train": self.train,
            "validation": self.validation,
            "provider": self.provider.value,
            "model": self.model,
            "max_length": self.max_length,
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take the saved values (``ValueError`` for one of the wrong kind, nothing changed)."""
        from backends.choices import field as saved_field

        values: dict[str, Any] = {}
        for name in ("train", "validation", "model"):
            values[name] = saved_field(saved, name, str, "dataset")
        provider = saved_field(saved, "provider", str, "dataset")
        if provider is not None:
            try:
                values["provider"] = Provider(provider)
            except ValueError:
                raise ValueError(f"dataset.provider: {provider!r} is not a provider") from None
        max_length = saved_field(saved, "max_length", int, "dataset")
        for name, value in values.items():
            if value is not None:
                setattr(self, name, value)
        if "max_length" in saved:
            self.max_length = max_length


@dataclass
class BackendChoice:
    """The Backend stage's choices: where to train and with what settings (kept in memory only).

    Hosted numbers are kept as typed (blank = auto). ``secret`` is a key
    entered for this session: it is handed to the backend in memory and never
    written anywhere (not even to the decision record).
    """

    backend: str = ""
    """``openai``, ``azure`` or ``local``; empty until chosen."""
    hosted_model: str = ""
    hosted_method: str = "supervised"
    hosted_adapter: str = ""
    """The adaptation where the provider lets the user choose (``lora``, ``full``); blank: its default."""
    hyper: dict[str, str] = field(default_factory=dict)
    """``n_epochs``, ``batch_size``, ``learning_rate_multiplier``, ``beta`` as typed."""
    suffix: str = ""
    seed: str = ""
    metadata: str = ""
    """``key=value`` pairs as typed, comma-separated."""
    wandb_project: str = ""
    """Send the job's metrics to this Weights & Biases project (the provider's integration)."""
    azure_endpoint: str = ""
    api_version: str = ""
    training_type: str = ""
    secret: str = field(default="", repr=False)
    local_model: str = ""
    local: LocalSettings | None = None
    """``None`` until the Settings step seeded the defaults (max length from the dataset)."""
    gpus: GpuInventory | None = field(default=None, repr=False)
    """The visible GPUs, read once off the UI thread."""
    offer_reason: str = ""
    """Why this backend was chosen when it was an offer taken after OpenAI refused the job
    (``backends.migration``); blank: the user's own pick. The decision record notes it."""
    offered_backend: str = ""
    """The backend of the offer taken (a later pick of another backend drops the reason)."""

    def to_saved(self) -> dict[str, Any]:
        """What a restart restores: every choice but the key (and the GPUs, read afresh)."""
        saved: dict[str, Any] = {name: getattr(self, name) for name in _SAVED_TEXT}
        saved["hyper"] = dict(self.hyper)
        saved["local"] = self.local.to_dict() if self.local is not None else None
        return saved

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take the saved values (``ValueError`` for one of the wrong kind, nothing changed)."""
        from backends import registry
        from backends.choices import field as saved_field
        from backends.local.settings import LocalSettings

        values = {name: saved_field(saved, name, str, "backend") for name in _SAVED_TEXT}
        if values["backend"] and registry.find(values["backend"]) is None:
            raise ValueError(f"backend.backend: {values['backend']!r} is not a backend")
        hyper = saved_field(saved, "hyper", dict, "backend") or {}
        for name, value in hyper.items():
            if not isinstance(value, str):
                raise ValueError(f"backend.hyper.{name}: {value!r} is not text")
        local = saved_field(saved, "local", dict, "backend")
        defaults = LocalSettings().to_dict()
        for name, value in (local or {}).items():
            default = defaults.get(name)
            if name not in defaults or value is None:
                continue
            kinds: tuple[type, ...] = (
                (int, float, str)
                if default is None
                else (int, float)
                if isinstance(default, float)
                else (type(default),)
            )
            if not isinstance(value, kinds) or isinstance(value, bool) != isinstance(default, bool):
                expected = " or ".join(_KIND_NAMES.get(kind, kind.__name__) for kind in kinds)
                raise ValueError(f"backend.local.{name}: {value!r} is not {expected}")
        try:
            settings = LocalSettings.from_mapping(local) if local is not None else None
        except (TypeError, ValueError) as error:
            raise ValueError(f"backend.local: {error}") from None
        for name, value in values.items():
            if value is not None:
                setattr(self, name, value)
        self.hyper = dict(hyper)
        if settings is not None:
            self.local = settings


_KIND_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "yes/no",
    list: "a list",
}
_SAVED_TEXT = (
    "backend",
    "hosted_model",
    "hosted_method",
    "suffix",
    "seed",
    "metadata",
    "wandb_project",
    "azure_endpoint",
    "api_version",
    "training_type",
    "local_model",
)
"""The Backend choices kept as typed (``secret`` never is)."""


@dataclass
class EvalChoice:
    """The Evaluate stage's setup: which examples, which base model, which methods.

    Empty strings mean "not chosen yet": the Setup step fills them from the
    Dataset and Backend choices and the checklist.
    """

    source: str = "validation"
    """``validation`` (a held-out file) or ``split`` (a seeded share of the training file)."""
    eval_path: str = ""
    train_path: str = ""
    """The training file: few-shot and RAG draw from it (and a split is taken out of it)."""
    split_fraction: float = 0.1
    provider: str = ""
    """``openai``, ``azure`` or ``local``."""
    model: str = ""
    zero_shot: bool = True
    few_shot_k: int = 3
    rag_k: int = 3
    tuned: str = ""
    """A run id of the workspace or a model name (blank: the alternatives only)."""
    current: str = ""
    """A fine-tuned model in use today (``ft:…``), its own row "current fine-tune" (blank: none)."""
    limit: int | None = 50
    seed: int = 0
    concurrency: int = 8
    judge: str = ""
    """A hosted model that grades every answer 1-5 (blank: no LLM judge)."""
    data_for_tuned: str = ""
    """The tuned run whose validation file the held-out file defaulted to (done once per run)."""


@dataclass
class ChatChoice:
    """The Try-it step's system prompt and each pane's conversation (kept while the app runs)."""

    system: str | None = None
    """``None``: the evaluation data's system prompt, if it has one."""
    histories: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """``base`` / ``tuned`` → the turns so far (user and assistant messages)."""
    models: tuple[Any, ...] = ()
    """What the histories were had with (provider, base, tuned, export): another choice starts afresh."""
    export: str = ""
    """A GGUF export of the tuned run the tuned pane talks to ('' : the trained model itself)."""
