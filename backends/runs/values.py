"""The values a run is made of, each as plain JSON: ``RunSpec`` (``run.json``: what to train),
``MetricPoint`` (one line of ``metrics.jsonl``), ``RunState`` (where a run stands) and
``RunResult`` (what a finished run produced).

Reading tolerates keys it does not know, so a newer writer never breaks an older reader. A spec
never carries a secret: ``RunSpec.to_dict`` refuses keys that look like one (an API key belongs
to the environment or to memory, never to a file in the run folder).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

AUTO = "auto"
"""A hyperparameter left to the backend."""

HyperValue = int | float | str | bool
"""A hyperparameter value: ``"auto"`` or a number (or a word/flag for local settings)."""

SUPERVISED = "supervised"
DPO = "dpo"
METHODS = (SUPERVISED, DPO)
"""The objectives: what training optimises (``--method``, ``"method"`` in ``run.json``)."""

LORA = "lora"
QLORA = "qlora"
FULL = "full"
ADAPTERS = (LORA, QLORA, FULL)
"""The adaptations: how the weights change (``--adapter``, ``"adapter"`` in ``run.json``)."""

_SECRET_WORDS = ("api_key", "apikey", "api-key", "secret", "password", "token", "authorization")


class RunState(str, Enum):
    QUEUED = "queued"
    VALIDATING = "validating"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def phrase(self) -> str:
        """The state in a sentence: "<run> has failed", "<run> is running"."""
        if self.is_terminal:
            return f"has {self.value}" if self is not RunState.CANCELLED else "was cancelled"
        return f"is {self.value}"

    @property
    def is_terminal(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)

    @property
    def is_active(self) -> bool:
        return not self.is_terminal

    @classmethod
    def parse(cls, value: object) -> RunState:
        """A state from its name; an unknown name reads as ``queued`` rather than failing."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value))
        except ValueError:
            return cls.QUEUED


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def assert_no_secrets(value: object, where: str = "run spec") -> None:
    """Raise ``ValueError`` when a mapping (at any depth) has a key that names a secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _looks_secret(str(key)):
                raise ValueError(
                    f"{where} must not carry secrets (key {key!r}); pass them in memory"
                )
            assert_no_secrets(item, where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            assert_no_secrets(item, where)


def _hyper_value(value: object) -> HyperValue:
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"hyperparameter value {value!r} is neither 'auto' nor a number")


def _older_adapter(values: dict[str, Any]) -> str | None:
    """The adapter of a ``run.json`` written before it had one: local settings said ``method``.

    A top-level ``"method": "lora"`` (the one flag of old) reads as adapter lora with the
    objective supervised; a local run's ``settings.local.method`` the same.
    """
    if values.get("method") in ADAPTERS:
        return str(values.pop("method"))
    settings = values.get("settings")
    local = settings.get("local") if isinstance(settings, Mapping) else None
    if isinstance(local, Mapping):
        older = local.get("adapter", local.get("method"))
        if older in ADAPTERS:
            return str(older)
    return None


@dataclass(frozen=True)
class RunSpec:
    """What to train: written once to ``run.json`` when a run is created."""

    backend: str
    model: str
    dataset: str
    dataset_sha256: str = ""
    validation: str | None = None
    validation_sha256: str | None = None
    method: str = SUPERVISED
    """The objective: supervised or DPO."""
    adapter: str | None = None
    """The adaptation (LoRA, QLoRA, full); ``None`` where the provider decides."""
    hyperparameters: Mapping[str, HyperValue] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Backend options that are not secret: endpoint, api version, training tier, integrations."""
    name: str = ""
    """A label for people; the run id is the stable name."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.adapter is not None and self.adapter not in ADAPTERS:
            raise ValueError(f"adapter must be one of {', '.join(ADAPTERS)}, not {self.adapter!r}")
        hyper = {str(k): _hyper_value(v) for k, v in dict(self.hyperparameters).items()}
        object.__setattr__(self, "hyperparameters", hyper)
        object.__setattr__(
            self, "metadata", {str(k): str(v) for k, v in dict(self.metadata).items()}
        )
        object.__setattr__(self, "settings", dict(self.settings))
        assert_no_secrets(self.settings, "run settings")
        assert_no_secrets(self.metadata, "run metadata")

    def hyper(self, name: str) -> HyperValue:
        """One hyperparameter, ``"auto"`` when not set."""
        return self.hyperparameters.get(name, AUTO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "dataset": self.dataset,
            "dataset_sha256": self.dataset_sha256,
            "validation": self.validation,
            "validation_sha256": self.validation_sha256,
            "method": self.method,
            "adapter": self.adapter,
            "hyperparameters": dict(self.hyperparameters),
            "suffix": self.suffix,
            "seed": self.seed,
            "metadata": dict(self.metadata),
            "settings": dict(self.settings),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """The spec ``data`` describes; ``ValueError`` naming the first damaged field."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("hyperparameters", "metadata", "settings"):
            if values.get(key) is None:
                values.pop(key, None)
            elif not isinstance(values[key], Mapping):
                raise ValueError(f"{key} is not an object")
        for key in ("backend", "model", "dataset"):
            if not isinstance(values.get(key), str):
                raise ValueError(f"{key} is missing or not text")
        for key in ("dataset_sha256", "name", "method"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(f"{key} is not text")
        for key in ("validation", "validation_sha256", "suffix", "adapter"):
            if values.get(key) is not None and not isinstance(values[key], str):
                raise ValueError(f"{key} is not text")
        seed = values.get("seed")
        if seed is not None and type(seed) is not int:
            raise ValueError("seed is not a whole number")
        if values.get("adapter") is None:
            values["adapter"] = _older_adapter(values)
        return cls(**values)


_POINT_FIELDS = (
    "step",
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
    "learning_rate",
    "grad_norm",
    "tokens_per_s",
    "epoch",
    "total_steps",
    "elapsed",
    "time",
    *(
        f"{split}_{name}"
        for name in ("rewards_margins", "rewards_accuracies", "rewards_chosen", "rewards_rejected")
        for split in ("train", "valid")
    ),
)
_POINT_FIELD_SET = frozenset(_POINT_FIELDS)


@dataclass(slots=True)
class MetricPoint:
    """One logged training step: one line of ``metrics.jsonl``.

    Names follow the OpenAI metrics events; DPO runs add trl's reward series
    (``train_rewards_margins``...), which older readers keep in ``extra``. ``elapsed`` is seconds since the
    run started, ``time`` the Unix time the point was logged. Treat points as
    values; the class is not frozen only because frozen dataclasses build
    about 3x slower, and a monitor opens 100,000 of them at once.
    """

    step: int
    train_loss: float | None = None
    valid_loss: float | None = None
    full_valid_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_mean_token_accuracy: float | None = None
    learning_rate: float | None = None
    grad_norm: float | None = None
    tokens_per_s: float | None = None
    epoch: float | None = None
    total_steps: int | None = None
    elapsed: float | None = None
    time: float | None = None
    train_rewards_margins: float | None = None
    """DPO: mean reward of the chosen answer minus the rejected one's (rises as it learns)."""
    valid_rewards_margins: float | None = None
    train_rewards_accuracies: float | None = None
    """DPO: share of pairs whose chosen answer has the higher reward."""
    valid_rewards_accuracies: float | None = None
    train_rewards_chosen: float | None = None
    """DPO: beta times the log-probability ratio (policy / reference) of the chosen answers."""
    valid_rewards_chosen: float | None = None
    train_rewards_rejected: float | None = None
    valid_rewards_rejected: float | None = None
    extra: Mapping[str, Any] | None = None
    """Keys this version does not know, kept so a rewrite loses nothing."""

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set (lines stay short); NaN/inf become ``None``."""
        out: dict[str, Any] = {}
        for name in _POINT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            out[name] = value
        if self.extra:
            for key, value in self.extra.items():
                out.setdefault(key, value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricPoint:
        """The point of one ``metrics.jsonl`` line; ``ValueError`` when a value has a wrong type.

        ``step`` and ``total_steps`` are whole numbers, the other fields numbers (or null).
        """
        if (
            data.keys() <= _POINT_FIELD_SET
            and type(data.get("step")) is int
            and set(map(type, data.values())) <= _NUMBER_TYPES
        ):
            total = data.get("total_steps")
            if total is None or type(total) is int:
                return cls(**data)  # the common case, kept fast
        values = {k: v for k, v in data.items() if k in _POINT_FIELD_SET}
        extra = {k: v for k, v in data.items() if k not in _POINT_FIELD_SET} or None
        step = _whole(values.pop("step", 0), "step")
        total = values.pop("total_steps", None)
        for name, value in values.items():
            if value is not None and type(value) not in (int, float):
                raise ValueError(f"{name} is {value!r:.40}, not a number")
        return cls(
            step=0 if step is None else step,
            total_steps=_whole(total, "total_steps"),
            extra=extra,
            **values,
        )


_NUMBER_TYPES = frozenset((int, float, type(None)))


def _whole(value: object, name: str) -> int | None:
    """``value`` as a whole number (``3.0`` reads as 3); ``ValueError`` for anything else."""
    if value is None:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise ValueError(f"{name} is {value!r:.40}, not a whole number")


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced."""

    state: RunState
    model: str | None = None
    """The fine-tuned model id (hosted) or the adapter/model folder (local)."""
    output_dir: Path | None = None
    trained_tokens: int | None = None
    checkpoints: tuple[str, ...] = ()
    error: str | None = None
